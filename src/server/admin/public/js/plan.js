// The dry-run answer may be a pipeline summary ({ plan, report, ... }) or a bare plan preview.
export function planOf(x) {
  if (x === null || x === undefined) return null;
  if (x.plan !== undefined && x.fieldChanges === undefined) return planOf(x.plan);
  return x;
}

export function reportOf(x) {
  if (x === null || x === undefined || typeof x !== 'object') return null;
  // A report has both `people` and `ready`; a pipeline summary also has `people` but wraps `report`.
  if (typeof x.ready === 'number' && typeof x.people === 'number') return x;
  return x.report !== undefined ? reportOf(x.report) : null;
}
