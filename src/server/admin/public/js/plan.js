// The dry-run answer may be a pipeline summary ({ plan, report, ... }) or a bare plan preview.
export function planOf(x) {
  if (x === null || x === undefined) return null;
  if (x.plan !== undefined && x.fieldChanges === undefined) return planOf(x.plan);
  return x;
}

export function reportOf(x) {
  if (x === null || x === undefined) return null;
  if (x.report !== undefined && typeof x.report === 'object' && x.people === undefined)
    return reportOf(x.report);
  return x.people === undefined ? null : x;
}
