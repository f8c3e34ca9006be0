import { describe, expect, it } from "vitest";
import { refusal } from "./messages";

describe("the console's refusals", () => {
  it("translates each sign-in and scope code in French and English", () => {
    expect(refusal("fr", "totp_invalid", 401, "x")).toBe("Code à usage unique incorrect ou déjà utilisé.");
    expect(refusal("en", "totp_invalid", 401, "x")).toBe("Wrong or already used one-time code.");
    for (const c of ["invalid_credentials", "totp_required", "operator_locked", "operator_disabled", "insufficient_scope"]) {
      expect(refusal("fr", c, 403, "raw detail")).not.toContain("raw detail");
      expect(refusal("en", c, 403, "raw detail")).not.toBe(refusal("fr", c, 403, "raw detail"));
    }
  });
  it("falls back on the status, then on the detail", () => {
    expect(refusal("fr", undefined, 401, "x")).toBe("Session refusée : reconnectez-vous.");
    expect(refusal("en", "edge.unavailable", 503, "x")).toBe("Service unreachable; retry in a moment.");
    expect(refusal("en", "other", 422, "bad fixture")).toBe("Error: bad fixture");
  });
});
