import { describe, expect, it } from "vitest";
import { direction, formatLine, formatPrice } from "./format";

describe("formatPrice", () => {
  it("shows milli-odds as decimal odds in each language's notation", () => {
    expect(formatPrice(2140, "fr")).toBe("2,14");
    expect(formatPrice(2140, "en")).toBe("2.14");
    expect(formatPrice(1000, "en")).toBe("1.00");
    expect(formatPrice(1010, "fr")).toBe("1,01");
    expect(formatPrice(11500, "en")).toBe("11.50");
  });
  it("drops the decimals from 100 up and does not group thousands", () => {
    expect(formatPrice(110000, "fr")).toBe("110");
    expect(formatPrice(1000000, "en")).toBe("1000");
  });
  it("refuses what is not a price", () => {
    for (const bad of [undefined, null, 999, 0, -1500, 2140.5, Number.NaN]) expect(formatPrice(bad as number, "fr")).toBe("—");
  });
});

describe("formatLine", () => {
  it("writes handicaps signed and totals plain", () => {
    expect(formatLine("0.50", "fr", true)).toBe("+0,5");
    expect(formatLine("-1.25", "en", true)).toBe("-1.25");
    expect(formatLine("0.00", "en", true)).toBe("0");
    expect(formatLine("2.5", "fr", false)).toBe("2,5");
  });
});

describe("direction", () => {
  it("says which way a price moved", () => {
    expect(direction(2000, 2100)).toBe(1);
    expect(direction(2100, 2000)).toBe(-1);
    expect(direction(2000, 2000)).toBe(0);
    expect(direction(undefined, 2000)).toBe(0);
  });
});
