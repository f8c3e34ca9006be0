import { describe, expect, it } from "vitest";
import { centsToInput, formatCents, parseEuros } from "./money";

describe("parseEuros", () => {
  it("reads what a player types into integer cents, in either notation", () => {
    expect(parseEuros("50")).toBe(5000);
    expect(parseEuros("50,00")).toBe(5000);
    expect(parseEuros("50.5")).toBe(5050);
    expect(parseEuros(" 0,01 ")).toBe(1);
    expect(parseEuros("1 234,56")).toBe(123456);
    expect(parseEuros("1\u202f234,56 €")).toBe(123456);
    expect(parseEuros("19.99 EUR")).toBe(1999);
  });
  it("never goes through floating point: amounts floats get wrong come out exact", () => {
    // 0.29 * 100 = 28.999999999999996 and 1.15 * 100 = 114.99999999999999 in binary doubles.
    expect(parseEuros("0,29")).toBe(29);
    expect(parseEuros("1.15")).toBe(115);
    expect(parseEuros("4.35")).toBe(435);
    expect(parseEuros("9999999,99")).toBe(null); // over the ceiling
    expect(parseEuros("1000000")).toBe(100_000_000);
  });
  it("refuses what is not an amount", () => {
    for (const bad of ["", " ", "0", "0,00", "-5", "+5", "5,001", "5,", ",5", "abc", "5e2", "1,234,56", "12 €€", "Infinity", "NaN"]) {
      expect(parseEuros(bad), bad).toBe(null);
    }
  });
});

describe("formatCents", () => {
  it("writes cents as euros in each language", () => {
    expect(formatCents(5000, "fr").replace(/\s/g, " ")).toBe("50,00 €");
    expect(formatCents(5000, "en")).toBe("€50.00");
    expect(formatCents(123456, "fr").replace(/\s/g, " ")).toBe("1 234,56 €");
    expect(formatCents(123456, "en")).toBe("€1,234.56");
    expect(formatCents(7, "en")).toBe("€0.07");
    expect(formatCents(0, "fr").replace(/\s/g, " ")).toBe("0,00 €");
    expect(formatCents(-2550, "en")).toBe("-€25.50");
  });
  it("round-trips through the form's notation", () => {
    for (const c of [1, 29, 115, 5000, 123456, 100_000_000]) {
      expect(parseEuros(centsToInput(c, "fr"))).toBe(c);
      expect(parseEuros(centsToInput(c, "en"))).toBe(c);
    }
  });
});
