/**
 * Kubernetes resource quantities (`6Gi`, `6144Mi`, `6G`, `6442450944`, `6.5Gi`, `512M`, `1e9`),
 * parsed exactly as apimachinery's `resource.Quantity` grammar defines them:
 *
 *   quantity        ::= signedNumber suffix
 *   suffix          ::= binarySI | decimalExponent | decimalSI
 *   binarySI        ::= Ki | Mi | Gi | Ti | Pi | Ei
 *   decimalSI       ::= m | "" | k | M | G | T | P | E
 *   decimalExponent ::= "e" signedNumber | "E" signedNumber
 *   number          ::= digits | digits "." digits | digits "." | "." digits
 *
 * Arithmetic is exact (BigInt fractions), so `6.5Gi` is 6979321856 bytes, not a float near it.
 * A memory quantity that is not a whole number of bytes rounds up, as `Quantity.Value()` does.
 * Pure: no Pulumi SDK. The policies read limits with it and the Kubernetes components write them.
 */

export interface Quantity {
  /** The value as an exact fraction `numerator / denominator` (denominator > 0). */
  numerator: bigint;
  denominator: bigint;
}

const BINARY_SI: Record<string, bigint> = {
  Ki: 1n << 10n,
  Mi: 1n << 20n,
  Gi: 1n << 30n,
  Ti: 1n << 40n,
  Pi: 1n << 50n,
  Ei: 1n << 60n,
};

const DECIMAL_SI: Record<string, number> = { m: -3, "": 0, k: 3, M: 6, G: 9, T: 12, P: 15, E: 18 };

const QUANTITY_RE = /^([+-]?)(\d+\.?\d*|\.\d+)(?:(Ki|Mi|Gi|Ti|Pi|Ei)|[eE]([+-]?\d+)|(m|k|M|G|T|P|E)?)$/;

/** Exponents beyond this are not memory sizes; refusing them keeps BigInt work bounded. */
const MAX_EXPONENT = 64;

export const MIB = 1n << 20n;

/** Parse a quantity string (or a plain number, as YAML may give it); undefined when it is not one. */
export function parseQuantity(input: string | number): Quantity | undefined {
  const text = typeof input === "number" ? numberToQuantityText(input) : input;
  if (text === undefined || text.length === 0 || text.length > 64) return undefined;
  const match = QUANTITY_RE.exec(text);
  if (!match) return undefined;
  const [, sign, number, binary, exponent, decimal] = match;
  const [whole = "", fraction = ""] = (number as string).split(".");
  let numerator = BigInt(`${whole}${fraction}` || "0");
  let denominator = 10n ** BigInt(fraction.length);
  if (binary !== undefined) {
    numerator *= BINARY_SI[binary] as bigint;
  } else {
    const power = exponent !== undefined ? Number(exponent) : (DECIMAL_SI[decimal ?? ""] as number);
    if (!Number.isSafeInteger(power) || Math.abs(power) > MAX_EXPONENT) return undefined;
    if (power >= 0) numerator *= 10n ** BigInt(power);
    else denominator *= 10n ** BigInt(-power);
  }
  if (sign === "-") numerator = -numerator;
  return reduce({ numerator, denominator });
}

/** Whole bytes of a memory quantity (fractions round up); undefined when invalid or negative. */
export function quantityToBytes(input: string | number): bigint | undefined {
  const q = parseQuantity(input);
  if (!q || q.numerator < 0n) return undefined;
  return ceilDiv(q.numerator, q.denominator);
}

/** A memory quantity in MiB (may be fractional: `6G` is 5722.0458984375 MiB); undefined when invalid. */
export function quantityToMiB(input: string | number): number | undefined {
  const bytes = quantityToBytes(input);
  if (bytes === undefined) return undefined;
  const whole = bytes / MIB;
  const rest = bytes % MIB;
  return Number(whole) + Number(rest) / Number(MIB);
}

/** A whole number of MiB as the quantity Kubernetes components write (`6144Mi`, or `6Gi` when exact). */
export function formatMiB(mib: number): string {
  if (!Number.isSafeInteger(mib) || mib < 0) {
    throw new RangeError(`memory must be a whole, non-negative number of MiB (got ${mib})`);
  }
  return mib > 0 && mib % 1024 === 0 ? `${mib / 1024}Gi` : `${mib}Mi`;
}

function numberToQuantityText(value: number): string | undefined {
  if (!Number.isFinite(value)) return undefined;
  // Plain decimal digits; exponent notation ("1e+21") is valid quantity syntax too.
  return String(value).replace("e+", "e");
}

function reduce(q: Quantity): Quantity {
  const divisor = gcd(q.numerator < 0n ? -q.numerator : q.numerator, q.denominator);
  return divisor > 1n ? { numerator: q.numerator / divisor, denominator: q.denominator / divisor } : q;
}

function gcd(a: bigint, b: bigint): bigint {
  while (b !== 0n) [a, b] = [b, a % b];
  return a === 0n ? 1n : a;
}

function ceilDiv(a: bigint, b: bigint): bigint {
  return (a + b - 1n) / b;
}
