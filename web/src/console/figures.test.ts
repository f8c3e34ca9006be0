import { describe, expect, it } from "vitest";
import { ether, oracleScore, oracleState, percent, shortHash, traderChange, trjView } from "./figures";
import { refusal } from "./messages";

// Intl may put a narrow no-break space before "%" and "€": compare with plain spaces.
const plain = (s: string) => s.replace(/[\u202f\u00a0]/g, " ");

describe("the return-to-player meter", () => {
  it("shows stakes, payouts, the ratio from the cents and the 85 % cap with its year", () => {
    const v = trjView("fr", { year: 2026, stakes: 1_000_00, payouts: 853_21, trj: 0.8532, cap: 0.85, over_cap: true });
    expect(v.year).toBe(2026);
    expect(plain(v.stakes)).toBe("1 000,00 €");
    expect(plain(v.payouts)).toBe("853,21 €");
    expect(plain(v.ratio)).toBe("85,32 %");
    expect(plain(v.cap)).toBe("85 %");
    expect(v.over).toBe(true);
    expect(plain(v.verdict)).toBe("Au-dessus du plafond de 85 % !");
  });
  it("is under the cap at exactly 85 % and says so in English", () => {
    const v = trjView("en", { year: 2025, stakes: 2000, payouts: 1700, trj: 0.85, cap: 0.85, over_cap: false });
    expect(v.over).toBe(false);
    expect(v.ratio).toBe("85.00%");
    expect(v.verdict).toBe("Under the 85% cap");
    // One cent more is over.
    expect(trjView("en", { year: 2025, stakes: 2000, payouts: 1701, trj: 0.8505, cap: 0.85, over_cap: true }).over).toBe(true);
  });
  it("has no ratio for a year without stakes", () => {
    const v = trjView("fr", { year: 2024, stakes: 0, payouts: 0, trj: 0, cap: 0.85, over_cap: false });
    expect(v.ratio).toBe("—");
    expect(v.over).toBe(false);
    expect(v.verdict).toBe("Aucune mise cette année.");
  });
  it("formats percentages per language", () => {
    expect(plain(percent("fr", 0.5, 0))).toBe("50 %");
    expect(percent("en", 0.123, 1)).toBe("12.3%");
  });
});

describe("the oracle's results", () => {
  it("shortens a transaction hash and keeps a missing one visible", () => {
    expect(shortHash("0x" + "ab".repeat(32))).toBe("0xababab…ababab");
    expect(shortHash(undefined)).toBe("—");
  });
  it("names each state and keeps an unknown one as is", () => {
    expect(oracleState("fr", "confirmed")).toBe("confirmé");
    expect(oracleState("en", "mined")).toBe("mined, waiting for confirmations");
    expect(oracleState("en", "weird")).toBe("weird");
  });
  it("shows the score, and the status of a game not played to its end", () => {
    expect(oracleScore({ fixture: "f", state: "signed", status: "final", home: 4, away: 2 })).toBe("4 – 2");
    expect(oracleScore({ fixture: "f", state: "signed", status: "abandoned", home: 1, away: 0 })).toBe("1 – 0 (abandoned)");
    expect(oracleScore({ fixture: "f", state: "signed" })).toBe("—");
  });
  it("converts wei to ether without floating point", () => {
    expect(ether("en", "1500000000000000000")).toBe("1.5000");
    expect(ether("fr", "123456789000000000000000")).toMatch(/^123.456,7890$/);
    expect(ether("en", "5")).toBe("0.0000");
    expect(ether("en", "over 18446744073709551615")).toBe("> 18.4467");
  });
});

describe("the trader's changes and refusals", () => {
  it("puts a change in words", () => {
    expect(plain(traderChange("fr", { suspended: true, max_stake: 5000 }))).toBe("suspendu, mise max. 50,00 €");
    expect(traderChange("en", { suspended: false })).toBe("reopened");
    expect(traderChange("en", { margin_shift_bp: 120, lean: { outcome: "home", bp: 50 } })).toBe("margin +120 bp, lean home +50 bp");
    expect(traderChange("en", { market: "total_goals", margin_shift_bp: -30 })).toBe("margin total_goals -30 bp");
    expect(traderChange("fr", { lean: { outcome: "draw", bp: 0 }, max_stake: 0 })).toBe("sans penchant, mise max. pas de plafond");
  });
  it("translates every trader refusal code, never showing the raw detail", () => {
    for (const c of ["margin_shift_out_of_bounds", "lean_out_of_bounds", "reason_length", "unknown_market", "trader_scope",
      "nothing_to_set", "invalid_suspended", "invalid_max_stake", "no_fixture", "invalid_trader"]) {
      for (const lang of ["fr", "en"] as const) expect(refusal(lang, c, 422, "raw detail")).not.toContain("raw detail");
    }
    expect(refusal("fr", "reason_length", 422, "x")).toBe("Indiquez un motif de 3 à 500 caractères.");
  });
});
