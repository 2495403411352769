// Money on the staff pages (docs/api.md, "Prices"): an integer in its currency's minor unit,
// shown by Intl.NumberFormat in the page's language ("₩22,000", "$11.95"). The restaurant's
// currency comes from the server, in the page's <body data-currency>.
import { lang } from "./i18n.js";

// A function from minor units to text in `currency`, or null for no ISO 4217 code Intl knows.
export function formatter(currency) {
  if (!currency || !/^[A-Z]{3}$/.test(currency)) return null;
  try {
    const format = new Intl.NumberFormat(lang, { style: "currency", currency });
    const scale = 10 ** format.resolvedOptions().maximumFractionDigits;
    return (minor) => format.format(minor / scale);
  } catch { return null; }
}
