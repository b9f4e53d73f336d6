// The one check of a flag that counts something (--port, --workers, --offset, --length, --days,
// --max-records): a whole number written in decimal digits, within its bounds. Anything else is
// bad usage, exit 252 like yargs's own refusals, in one shape: "--FLAG must be a whole number
// [of UNIT] from MIN to MAX [(WHY)], not WHAT-WAS-GIVEN".
// The flags are declared as strings: yargs's number type turns "abc" into NaN, "1e3" into 1000
// and "0x10" into 16, and the message could then not say what was typed.
import { UsageError } from '../errors/index.js';

export interface IntegerBounds {
  min: number;
  max: number;
  /** What is counted, for the message ("bytes", "processes"). */
  unit?: string;
  /** Why the maximum is what it is, when that is not obvious. */
  why?: string;
}

const DIGITS = /^\s*[+-]?\d+\s*$/;

/** A flag's value as typed (a list when the flag is repeated), for messages. */
export const typed = (value: unknown): string => {
  const text = Array.isArray(value) ? value.map(String).join(' ') : String(value);
  return text === '' ? '""' : text;
};

/** `value` (a flag's string as yargs gives it, or a number a caller passes) as a whole number in decimal digits, if it is one and safe. */
export function decimalInteger(value: unknown): number | undefined {
  const n = typeof value === 'number' ? value : typeof value === 'string' && DIGITS.test(value) ? Number(value) : NaN;
  return Number.isSafeInteger(n) ? n : undefined;
}

/** `value` as yargs gives it (a string, or a list when the flag is repeated), or a number, within `bounds`. */
export function integerFlag(flag: string, value: unknown, bounds: IntegerBounds): number {
  const n = decimalInteger(value);
  if (n === undefined || n < bounds.min || n > bounds.max) {
    const unit = bounds.unit ? ` of ${bounds.unit}` : '';
    const why = bounds.why ? ` (${bounds.why})` : '';
    throw new UsageError(`--${flag} must be a whole number${unit} from ${bounds.min} to ${bounds.max}${why}, not ${typed(value)}`);
  }
  return n;
}

/** The same, for a flag that may be left out. */
export function optionalIntegerFlag(flag: string, value: unknown, bounds: IntegerBounds): number | undefined {
  return value === undefined ? undefined : integerFlag(flag, value, bounds);
}
