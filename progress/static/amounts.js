// Numbers as people read them, in the browser's own language (Intl.NumberFormat): progress counts
// ("12,345 of 100,000", "1.2 MB of 4.5 MB" for a kind counting bytes, "12.3%") and form hints.

const COUNT = new Intl.NumberFormat(undefined, { maximumFractionDigits: 20 }); // every digit a bound or default has
const PERCENT = new Intl.NumberFormat(undefined, { style: "percent", minimumFractionDigits: 1, maximumFractionDigits: 1 });
const BYTE_UNITS = ["kilobyte", "megabyte", "gigabyte", "terabyte", "petabyte"];
const BYTES = new Intl.NumberFormat(undefined, { style: "unit", unit: "byte", unitDisplay: "long" });
const BYTE_MULTIPLES = BYTE_UNITS.map((unit) => new Intl.NumberFormat(undefined, {
  style: "unit", unit, unitDisplay: "short", maximumFractionDigits: 1,
}));

/** One amount of a kind's progress; `unit` is the kind's `progress_unit` (null: a count of things). */
export function formatAmount(value, unit = null) {
  if (unit !== "bytes") return COUNT.format(value);
  if (value < 1000) return BYTES.format(value); // "1 byte", "512 bytes"
  // Decimal multiples, as Intl's kB and MB mean: 1 kB is 1000 bytes.
  let power = Math.min(BYTE_UNITS.length, Math.floor(Math.log10(value) / 3));
  if (power < BYTE_UNITS.length && value / 1000 ** power >= 999.95) power += 1; // "1 MB", not "1,000 kB"
  return BYTE_MULTIPLES[power - 1].format(value / 1000 ** power);
}

/** `percent` is the job's, 0 to 100 with one decimal. */
export const formatPercent = (percent) => PERCENT.format(percent / 100);
