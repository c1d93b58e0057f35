// Dashboard: the F-REPORT figures the pipeline precomputed (one stored report, no scan per view),
// with Chart.js charts: funnel, referred revenue over time, top referrers/partners, conversion per
// segment and per A/B variant, and the data-quality table with what to fix.
import { get } from './api.js';
import { clear, h, money, num, pct, table, when } from './dom.js';
import { reportOf } from './plan.js';

const charts = [];

/** What to do about a missing input (by canonical input path). */
const FIX = {
  nps: 'Map your NPS survey field (Mappings) or sync NPS answers into the CRM.',
  csat: 'Map a CSAT field or sync support satisfaction scores.',
  email: 'Contacts without email cannot be matched to referrals: fill in emails.',
  ownerId: 'Assign an owner so ask tasks reach a person.',
  lastPurchaseAt: 'Map the last purchase date (from your billing or deals).',
  activeDaysLast30: 'Send product usage (active days) to the CRM.',
  activeDaysPrev30: 'Send product usage (active days, previous 30) to the CRM.',
  featuresUsed: 'Send product usage (features used) to the CRM.',
  lastActiveAt: 'Send the last active date so churn signals work.',
  customerSince: 'Map the customer-since date (tenure criterion and VIP segment).',
  totalSpend: 'Map lifetime spend (high-spend criterion and VIP segment).',
  purchaseCount: 'Map the number of purchases (repeat-purchase criterion).',
};

function fixFor(input) {
  if (FIX[input]) return FIX[input];
  if (input.startsWith('capture.'))
    return 'Captured on referral forms: add the referral fields to your forms.';
  return `Map a CRM field to "${input}" in Mappings, or fill it in the CRM.`;
}

function chart(canvas, config) {
  if (!window.Chart) {
    canvas.replaceWith(h('p', { class: 'muted' }, 'Charts unavailable (Chart.js did not load).'));
    return;
  }
  charts.push(
    new window.Chart(canvas, {
      ...config,
      options: { responsive: true, animation: false, ...config.options },
    }),
  );
}

function figure(id, title, description) {
  const canvas = h('canvas', { id, role: 'img', 'aria-label': description });
  return { el: h('figure', { class: 'chart' }, h('figcaption', {}, title), canvas), canvas };
}

function tile(label, value, key) {
  return h('li', { class: 'tile' }, h('span', {}, label), h('strong', { 'data-figure': key }, value));
}

/**
 * The engine report's `revenueByMonth` ([{ month: 'YYYY-MM', revenue, conversions }], oldest
 * first). Null for a report stored before the series existed (the page then says so).
 */
function revenueSeries(r) {
  if (!Array.isArray(r.revenueByMonth)) return null;
  const known = new Map(r.revenueByMonth.map((m) => [m.month, m]));
  const months = [...known.keys()].sort();
  if (months.length === 0) return [];
  // The report leaves out months without a conversion; a time axis shows them as zero.
  const out = [];
  let [y, m] = months[0].split('-').map(Number);
  const last = months[months.length - 1];
  for (;;) {
    const month = `${y}-${String(m).padStart(2, '0')}`;
    out.push(known.get(month) ?? { month, revenue: 0, conversions: 0 });
    if (month >= last || out.length > 1200) break;
    [y, m] = m === 12 ? [y + 1, 1] : [y, m + 1];
  }
  return out;
}

function groupRows(groups) {
  return Object.entries(groups ?? {}).map(([name, g]) => [
    name,
    num(g.people),
    num(g.ready),
    num(g.asked),
    num(g.referrals),
    num(g.converted),
    pct(g.conversionRate),
    money(g.revenue),
  ]);
}

export async function renderDashboard(panel, ctx) {
  const tid = encodeURIComponent(ctx.tenantId);
  const res = await get(`/tenants/${tid}/report`);
  while (charts.length > 0) charts.pop().destroy();
  clear(panel).append(h('h2', {}, 'Referral dashboard'));
  const r = reportOf(res.report);
  if (r === null) {
    panel.append(h('p', {}, 'No report yet: it appears after the first sync.'));
    return;
  }
  const ttc = r.timeToConversionDays;
  const savedAt = res.report?.savedAt; // the stored report: { report, savedAt }
  if (typeof savedAt === 'string') {
    // Re-evaluations between full computations update the CRM, not these figures (see
    // FULL_COMPUTE_MAX_AGE_MS): say how old they are.
    panel.append(
      h(
        'p',
        { class: 'muted', id: 'report-as-of' },
        `Figures as of ${when(savedAt)}: the last full computation of the account (at least daily).`,
      ),
    );
  }
  panel.append(
    h(
      'ul',
      { class: 'tiles', 'aria-label': 'Key figures' },
      tile('People', num(r.people), 'people'),
      tile('Ready to ask', num(r.ready), 'ready'),
      tile('Asked', num(r.asked), 'asked'),
      tile('Referrals', num(r.referrals), 'referrals'),
      tile('Converted', num(r.converted), 'converted'),
      tile('Referral rate', pct(r.referralRate), 'referralRate'),
      tile('Conversion rate', pct(r.conversionRate), 'conversionRate'),
      tile('Referred revenue', money(r.referredRevenue), 'referredRevenue'),
      tile('Reward cost', money(r.rewardCost), 'rewardCost'),
      tile('ROI', r.roi === null ? '—' : `${(r.roi * 100).toFixed(0)} %`, 'roi'),
      tile('Median days to convert', ttc ? num(ttc.median) : '—', 'ttcMedian'),
    ),
  );

  const funnel = figure(
    'chart-funnel',
    'Referral funnel',
    `Ready ${r.ready}, asked ${r.asked}, referred ${r.referrals}, converted ${r.converted}`,
  );
  const series = revenueSeries(r);
  const hasSeries = series !== null && series.length > 0;
  const revenue = figure(
    'chart-revenue',
    'Referred revenue over time',
    hasSeries
      ? `Referred revenue per month of conversion, ${series[0].month} to ${series[series.length - 1].month}; the table "Referred revenue per month" lists the figures`
      : '',
  );
  const top = figure('chart-top', 'Top referrers by referred revenue', 'Bar chart of the top referrers');
  const seg = figure('chart-segments', 'Conversion per segment', 'Conversion rate per segment');
  const variant = figure('chart-variants', 'Conversion per A/B variant', 'Conversion rate per variant');
  panel.append(
    h(
      'div',
      { class: 'charts' },
      funnel.el,
      hasSeries
        ? revenue.el
        : h(
            'figure',
            { class: 'chart' },
            h('figcaption', {}, 'Referred revenue over time'),
            h(
              'p',
              { class: 'muted', id: 'revenue-empty' },
              series === null
                ? `Total so far: ${money(r.referredRevenue)}. The monthly series appears after the next sync.`
                : 'No referred customer has converted yet: the monthly series starts with the first won deal.',
            ),
          ),
      top.el,
      seg.el,
      variant.el,
    ),
  );
  chart(funnel.canvas, {
    type: 'bar',
    data: {
      labels: ['Ready', 'Asked', 'Referred', 'Converted'],
      datasets: [
        { label: 'People', data: [r.ready, r.asked, r.referrals, r.converted], backgroundColor: '#2f6fdf' },
      ],
    },
    options: { indexAxis: 'y', plugins: { legend: { display: false } } },
  });
  if (hasSeries) {
    // Revenue as bars on the left axis, conversions as a line on the right one.
    chart(revenue.canvas, {
      type: 'bar',
      data: {
        labels: series.map((m) => m.month),
        datasets: [
          {
            label: 'Referred revenue',
            data: series.map((m) => m.revenue),
            backgroundColor: '#1a8754',
            yAxisID: 'revenue',
          },
          {
            type: 'line',
            label: 'Conversions',
            data: series.map((m) => m.conversions),
            borderColor: '#2f6fdf',
            backgroundColor: '#2f6fdf',
            yAxisID: 'conversions',
          },
        ],
      },
      options: {
        scales: {
          revenue: {
            type: 'linear',
            position: 'left',
            beginAtZero: true,
            title: { display: true, text: 'Revenue' },
          },
          conversions: {
            type: 'linear',
            position: 'right',
            beginAtZero: true,
            grid: { drawOnChartArea: false },
            title: { display: true, text: 'Conversions' },
          },
        },
      },
    });
  }
  const topReferrers = r.topReferrers ?? [];
  chart(top.canvas, {
    type: 'bar',
    data: {
      labels: topReferrers.slice(0, 10).map((t) => t.name ?? t.id),
      datasets: [
        {
          label: 'Referred revenue',
          data: topReferrers.slice(0, 10).map((t) => t.revenue),
          backgroundColor: '#7a4fd6',
        },
      ],
    },
    options: { plugins: { legend: { display: false } } },
  });
  const rateChart = (target, groups, color) =>
    chart(target.canvas, {
      type: 'bar',
      data: {
        labels: Object.keys(groups ?? {}),
        datasets: [
          {
            label: 'Conversion rate (%)',
            data: Object.values(groups ?? {}).map((g) => (g.conversionRate ?? 0) * 100),
            backgroundColor: color,
          },
        ],
      },
      options: { plugins: { legend: { display: false } } },
    });
  rateChart(seg, r.perSegment, '#d9822b');
  rateChart(variant, r.perVariant, '#0f8b8d');

  const groupHeaders = ['People', 'Ready', 'Asked', 'Referrals', 'Converted', 'Conversion', 'Revenue'];
  panel.append(
    table(
      'Referred revenue per month',
      ['Month', 'Conversions', 'Revenue'],
      (series ?? []).map((m) => [m.month, num(m.conversions), money(m.revenue)]),
      { id: 'revenue-by-month' },
    ),
    table('Per segment', ['Segment', ...groupHeaders], groupRows(r.perSegment), { id: 'per-segment' }),
    table('Per A/B variant', ['Variant', ...groupHeaders], groupRows(r.perVariant), { id: 'per-variant' }),
    table(
      'Top referrers',
      ['Referrer', 'Type', 'Tier', 'Referrals', 'Converted', 'Revenue'],
      topReferrers.map((t) => [
        t.name ?? t.id,
        t.type,
        t.tier ?? '',
        num(t.referrals),
        num(t.converted),
        money(t.revenue),
      ]),
      { id: 'top-referrers' },
    ),
    table(
      'Top partners',
      ['Partner', 'Sent', 'Received', 'Revenue'],
      (r.topPartners ?? []).map((p) => [
        p.name ?? p.companyId,
        num(p.sent),
        num(p.received),
        money(p.revenue),
      ]),
      { id: 'top-partners' },
    ),
    table(
      'Data quality: share of people missing each input',
      ['Input', 'Missing', 'Share', 'What to fix'],
      [...(r.dataQuality ?? [])]
        .sort((a, b) => b.share - a.share)
        .map((d) => [d.input, num(d.missing), pct(d.share), d.share > 0 ? fixFor(d.input) : 'complete']),
      { id: 'data-quality' },
    ),
  );
}
