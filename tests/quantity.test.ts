import { describe, expect, it } from "vitest";
import { formatMiB, parseQuantity, quantityToBytes, quantityToMiB } from "../components/core/quantity";

const GiB = 1n << 30n;

describe("Kubernetes memory quantities", () => {
  it.each([
    ["6Gi", 6n * GiB],
    ["6144Mi", 6n * GiB],
    ["6442450944", 6n * GiB],
    ["6.5Gi", 6979321856n],
    ["6G", 6_000_000_000n],
    ["512M", 512_000_000n],
    ["1e9", 1_000_000_000n],
    ["1E9", 1_000_000_000n],
    ["1E", 1_000_000_000_000_000_000n],
    ["128974848", 128974848n],
    ["129e6", 129_000_000n],
    ["129M", 129_000_000n],
    ["123Mi", 128974848n],
    ["1Ki", 1024n],
    ["1k", 1000n],
    [".5Gi", GiB / 2n],
    ["5.", 5n],
    ["+1Mi", 1n << 20n],
    ["0", 0n],
    ["1500m", 2n], // 1.5 bytes rounds up, as Quantity.Value() does
    [6442450944, 6n * GiB],
  ])("%s is %s bytes exactly", (text, bytes) => {
    expect(quantityToBytes(text)).toBe(bytes);
  });

  it("converts to MiB, fractional where the quantity is decimal", () => {
    expect(quantityToMiB("6Gi")).toBe(6144);
    expect(quantityToMiB("6144Mi")).toBe(6144);
    expect(quantityToMiB("6.5Gi")).toBe(6656);
    expect(quantityToMiB("6G")).toBeCloseTo(5722.0458984375, 10);
    expect(quantityToMiB("512M")).toBeCloseTo(488.28125, 10);
  });

  it("keeps exact fractions", () => {
    expect(parseQuantity("6.5Gi")).toEqual({ numerator: 6979321856n, denominator: 1n });
    expect(parseQuantity("1500m")).toEqual({ numerator: 3n, denominator: 2n });
    expect(parseQuantity("-1Ki")).toEqual({ numerator: -1024n, denominator: 1n });
  });

  it.each(["", "Gi", "6 Gi", "6gi", "6GB", "6Mib", "1e", "e9", "6.5.1Gi", "--1", "6Gi ", "abc", "1e999", "NaN", "0x10"])(
    "%j is not a quantity",
    (text) => {
      expect(parseQuantity(text)).toBeUndefined();
      expect(quantityToBytes(text)).toBeUndefined();
      expect(quantityToMiB(text)).toBeUndefined();
    },
  );

  it("refuses negative memory and non-finite numbers", () => {
    expect(quantityToBytes("-6Gi")).toBeUndefined();
    expect(quantityToMiB(Number.NaN)).toBeUndefined();
    expect(quantityToMiB(Number.POSITIVE_INFINITY)).toBeUndefined();
  });

  it("formats whole MiB the way the components write limits", () => {
    expect(formatMiB(6144)).toBe("6Gi");
    expect(formatMiB(5568)).toBe("5568Mi");
    expect(formatMiB(0)).toBe("0Mi");
    expect(quantityToMiB(formatMiB(5568))).toBe(5568);
    expect(() => formatMiB(1.5)).toThrow(RangeError);
    expect(() => formatMiB(-1)).toThrow(RangeError);
  });
});
