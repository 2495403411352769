// The dashboard's Today view (docs/pages.md, "Today"): one day's numbers from
// GET /api/reports/daily, a chart of its hours, and its orders as a CSV download. A day is the
// restaurant's (the server's time zone): the page never works out "today" from its own clock.
import { api } from "./client.js";
import { h, replace, svg } from "./dom.js";
import { day, duration, number, t, tOr } from "./i18n.js";
import { formatter } from "./money.js";
import { kindLabel } from "./tasks.js";

// While it shows today the view reads the report again this often; a past day stays as it is.
const REFRESH_MS = 60000;
const TOP_ITEMS = 10;
const PAYMENT_METHODS = ["cash", "card", "other"];
// Amounts are integers in the restaurant's currency's minor unit (the page's data-currency).
const formatted = formatter(document.body.dataset.currency);
const money = (minor) => (formatted ? formatted(minor) : number(minor));
// The chart's margins in pixels, around the plot: axis labels go there.
const MARGIN = { top: 26, right: 54, bottom: 30, left: 44 };
// Narrower hour bands than this label every other (or third) hour.
const LABEL_MIN_PX = 26;

// A "YYYY-MM-DD" moved by whole days, in calendar arithmetic (no clock, no zone).
function shift(isoDate, days) {
  const [y, m, d] = isoDate.split("-").map(Number);
  return new Date(Date.UTC(y, m - 1, d + days)).toISOString().slice(0, 10);
}

// The restaurant's hour an hour of the report starts at, "9" or "23", as its "start" says it
// (the server wrote it in the restaurant's zone; the tablet's own zone may differ).
function localHour(start) {
  return String(Number(start.slice(11, 13)));
}

// A round step (1, 2 or 5 × 10ⁿ) that splits 0..max into at most `most` parts.
function niceStep(max, most = 4) {
  const raw = max / most;
  const power = 10 ** Math.floor(Math.log10(raw));
  return [1, 2, 5, 10].map((m) => m * power).find((step) => step >= raw - 1e-9);
}

function axis(max, whole) {
  const top = max > 0 ? max : 1;
  const step = whole ? Math.max(1, niceStep(top)) : niceStep(top);
  const ticks = [];
  for (let value = 0; value <= top + step - 1e-9; value += step) ticks.push(Number(value.toFixed(6)));
  return { ticks, max: ticks[ticks.length - 1] };
}

// The chart's nodes for a plot `width` × `height` pixels: a bar per hour (orders placed), a line
// through the hours' median delivery times on a second axis, the hours along the bottom.
function hourChart(hours, width, height) {
  const plotW = Math.max(1, width - MARGIN.left - MARGIN.right);
  const plotH = Math.max(1, height - MARGIN.top - MARGIN.bottom);
  const band = plotW / hours.length;
  const bottom = MARGIN.top + plotH;
  const orders = axis(Math.max(0, ...hours.map((hour) => hour.orders)), true);
  const medians = hours.map((hour) => (hour.orders > 0 ? hour.delivery_median_s : null));
  const longest = Math.max(0, ...medians.filter((s) => s !== null));
  const inMinutes = longest >= 120;
  const delivery = axis(inMinutes ? longest / 60 : longest, false);
  const yOrders = (n) => bottom - (n / orders.max) * plotH;
  const yDelivery = (s) => bottom - ((inMinutes ? s / 60 : s) / delivery.max) * plotH;
  const xMid = (i) => MARGIN.left + band * (i + 0.5);

  const grid = orders.ticks.map((n) => svg("g", { class: "tick" },
    svg("line", { class: "grid", x1: MARGIN.left, x2: MARGIN.left + plotW, y1: yOrders(n), y2: yOrders(n) }),
    svg("text", { class: "y-left", x: MARGIN.left - 6, y: yOrders(n) }, number(n))));
  const right = !longest ? [] : delivery.ticks.map((v) => svg("text", {
    class: "y-right", x: MARGIN.left + plotW + 6, y: bottom - (v / delivery.max) * plotH,
  }, number(v)));
  const every = Math.ceil(LABEL_MIN_PX / band);
  const bars = hours.map((hour, i) => {
    const label = localHour(hour.start);
    const top = yOrders(hour.orders);
    const barW = Math.max(1, band * 0.64);
    return svg("g", { class: "hour" },
      svg("rect", {
        class: "bar", x: xMid(i) - barW / 2, y: top, width: barW, height: bottom - top,
        "data-hour": label, "data-start": hour.start, "data-orders": hour.orders,
      }, svg("title", {}, t("today.chart_bar", { hour: label, n: number(hour.orders) }))),
      hour.orders > 0 ? svg("text", { class: "bar-value", x: xMid(i), y: top - 4 }, number(hour.orders)) : null,
      i % every === 0 ? svg("text", { class: "x", x: xMid(i), y: bottom + 18 }, label) : null);
  });
  // The line skips the hours with nothing delivered, joining the hours either side with a
  // dashed stretch: no value was measured along it.
  const points = medians.map((s, i) => (s === null ? null : { i, s, x: xMid(i), y: yDelivery(s) }))
    .filter(Boolean);
  const line = points.slice(1).map((p, n) => svg("line", {
    class: p.i - points[n].i > 1 ? "delivery-line gap" : "delivery-line",
    x1: points[n].x, y1: points[n].y, x2: p.x, y2: p.y,
  }));
  const dots = points.map((p) => {
    const label = localHour(hours[p.i].start);
    return svg("circle", { class: "point", cx: p.x, cy: p.y, r: 4.5, "data-hour": label, "data-median": p.s },
      svg("title", {}, t("today.chart_point", { hour: label, time: duration(p.s) })));
  });
  return [
    ...grid, ...right,
    svg("line", { class: "axis", x1: MARGIN.left, x2: MARGIN.left + plotW, y1: bottom, y2: bottom }),
    // Each axis's title above it, inside the picture's edges.
    svg("text", { class: "axis-title left", x: 0, y: MARGIN.top - 14 }, t("today.chart_orders")),
    svg("text", { class: "axis-title right", x: width, y: MARGIN.top - 14 },
      t(inMinutes ? "today.chart_delivery_min" : "today.chart_delivery_s")),
    ...bars, ...line, ...dots,
  ];
}

// A table of the view: `head` holds a column's heading, or numeric(heading) for a column of
// numbers (right-aligned); a null column is left out.
function table(head, rows) {
  return h("table", { class: "today-table" },
    h("thead", {}, h("tr", {}, head.filter(Boolean).map((column) => (typeof column === "string"
      ? h("th", {}, column) : h("th", { class: "num" }, column.heading))))),
    h("tbody", {}, rows));
}

function numeric(heading) {
  return { heading };
}

function cell(name, text) {
  return h("td", { class: `num ${name}` }, text);
}

function empty(key) {
  return h("p", { class: "muted empty" }, t(key));
}

export class TodayPanel {
  constructor(root, { robotName = (id) => id } = {}) {
    this.root = root;
    this.robotName = robotName;
    const get = (id) => root.querySelector(`#${id}`);
    this.date = get("today-date");
    this.previous = get("today-previous");
    this.next = get("today-next");
    this.back = get("today-back");
    this.export = get("today-export");
    this.error = get("today-error");
    this.chart = get("today-chart");
    this.parts = {
      orders: get("today-orders"), prep: get("today-prep"), delivery: get("today-delivery"),
      items: get("today-items"), stations: get("today-stations"), robots: get("today-robots"),
      tasks: get("today-tasks"), stock: get("today-stock"), sales: get("today-sales"),
      payments: get("today-payments"), turn: get("today-turn"), revenue: get("today-revenue"),
      wait: get("today-wait"),
    };
    this.today = null; // the restaurant's today, as the server last said it
    this.chosen = null; // the day shown; null: today, whichever day that is now
    this.asked = 0; // an answer to an older request than the latest is dropped
    this.report = null;
    this.timer = null;
    this.previous.addEventListener("click", () => this.step(-1));
    this.next.addEventListener("click", () => this.step(1));
    this.back.addEventListener("click", () => this.choose(null));
    this.date.addEventListener("change", () => this.choose(this.date.value));
    new ResizeObserver(() => this.drawChart()).observe(this.chart);
  }

  // Shown to those who may read the day's report, once /api/me has said who this is.
  enable(allowed) {
    this.root.hidden = !allowed;
    if (!allowed || this.timer) return;
    this.load();
    this.timer = setInterval(() => { if (this.chosen === null) this.load(); }, REFRESH_MS);
  }

  step(days) {
    const from = this.chosen ?? this.today;
    if (from) this.choose(shift(from, days));
  }

  choose(value) {
    this.chosen = !value || value === this.today ? null : value;
    this.load();
  }

  async load() {
    const asked = ++this.asked;
    const query = this.chosen ? `?date=${encodeURIComponent(this.chosen)}` : "";
    this.root.dataset.loading = "true";
    let report;
    try {
      report = await api("GET", `/api/reports/daily${query}`);
    } catch (err) {
      if (asked !== this.asked) return;
      delete this.root.dataset.loading;
      this.error.textContent = t("today.failed", { message: err.message });
      this.error.hidden = false;
      return;
    }
    if (asked !== this.asked) return;
    if (this.chosen === null) this.today = report.date;
    this.render(report);
  }

  render(report) {
    this.report = report;
    const showingToday = report.date === this.today;
    Object.assign(this.root.dataset, { date: report.date, showingToday });
    delete this.root.dataset.loading;
    this.error.hidden = true;
    this.date.value = report.date;
    if (this.today) this.date.max = this.today;
    this.next.disabled = this.today !== null && report.date >= this.today;
    this.back.hidden = showingToday;
    const range = `from=${encodeURIComponent(report.date)}&to=${encodeURIComponent(report.date)}`;
    this.export.href = `/api/export/orders.csv?${range}`;
    this.renderOrders(report.orders);
    this.renderTime(this.parts.prep, report.prep_time);
    this.renderTime(this.parts.delivery, report.delivery_time);
    this.renderSales(report.sales);
    this.renderTime(this.parts.turn, report.turn_time, "today.turned", "today.none_turned");
    this.renderWait(report.wait);
    this.renderItems(report.items);
    this.renderRevenue(report.items);
    this.renderStations(report.stations);
    this.renderRobots(report.robots);
    this.renderTasks(report.tasks);
    this.renderStock(report.stock.counts);
    this.drawChart();
  }

  renderOrders(orders) {
    const statuses = Object.entries(orders.by_status).filter(([, n]) => n > 0);
    replace(this.parts.orders,
      h("div", { class: "value" }, number(orders.total)),
      h("ul", { class: "by-status" }, statuses.map(([status, n]) => h("li", { dataset: { status } },
        h("span", { class: "n" }, number(n)), " ", tOr(`order.status.${status}`, status)))));
  }

  renderTime(element, spread, counted = "today.timed", none = "today.none_timed") {
    replace(element,
      h("div", { class: "value median" }, duration(spread.median_s)),
      h("div", { class: "sub" },
        spread.count ? [t("today.median"), " · ", h("span", { class: "p90" }, t("today.p90", { time: duration(spread.p90_s) })),
          " · ", h("span", { class: "count" }, t(counted, { n: number(spread.count) }))] : t(none)));
  }

  // The parties from the line seated that day: how long they waited, and against their quote.
  renderWait(wait) {
    this.renderTime(this.parts.wait, wait, "today.waited", "today.none_waited");
    const over = wait.over_quote_median_s;
    if (over === null) return;
    this.parts.wait.append(h("div", { class: "sub over-quote" },
      t(over > 0 ? "today.over_quote" : "today.within_quote", { time: duration(Math.abs(over)) })));
  }

  // The checks of the visits closed that day: their total, how many, the covers, the average;
  // and what was paid, by method.
  renderSales(sales) {
    replace(this.parts.sales,
      h("div", { class: "value gross" }, money(sales.gross)),
      h("div", { class: "sub" },
        h("span", { class: "checks" }, t("today.checks", { n: number(sales.checks) })), " · ",
        h("span", { class: "covers" }, t("today.covers", { n: number(sales.covers) })), " · ",
        h("span", { class: "average" }, t("today.average_check", { amount: money(sales.average_check) }))));
    replace(this.parts.payments, h("ul", { class: "methods" }, PAYMENT_METHODS.map((method) => h("li",
      { dataset: { method } }, h("span", {}, t(`today.method.${method}`)),
      h("span", { class: "amount" }, money(sales.payments[method] ?? 0))))));
  }

  // The dishes that earned the most on the checks closed that day.
  renderRevenue(items) {
    const top = items.filter((item) => item.revenue > 0)
      .sort((a, b) => b.revenue - a.revenue || a.name.localeCompare(b.name)).slice(0, TOP_ITEMS);
    replace(this.parts.revenue, top.length ? table(
      [t("today.item"), numeric(t("today.qty")), numeric(t("today.revenue"))],
      top.map((item) => h("tr", { dataset: { item: item.name } },
        h("td", { class: "name" }, item.name), cell("qty", number(item.revenue_qty)),
        cell("revenue", money(item.revenue)))))
      : empty("today.no_revenue"));
  }

  // The dishes ordered that day (a dish only on a check settled that day, ordered the day
  // before, is in the revenue alone).
  renderItems(items) {
    const top = items.filter((item) => item.qty > 0 || item.cancelled_qty > 0).slice(0, TOP_ITEMS);
    // The cancelled column only on a day that had any.
    const cancelled = top.some((item) => item.cancelled_qty > 0);
    replace(this.parts.items, top.length ? table(
      [t("today.item"), numeric(t("today.qty")), cancelled ? numeric(t("today.cancelled_qty")) : null],
      top.map((item) => h("tr", { dataset: { item: item.name } },
        h("td", { class: "name" }, item.name), cell("qty", number(item.qty)),
        cancelled ? cell("cancelled", item.cancelled_qty ? number(item.cancelled_qty) : "") : null)))
      : empty("today.no_items"));
  }

  renderStations(stations) {
    const names = Object.keys(stations);
    replace(this.parts.stations, names.length ? table(
      [t("today.station"), numeric(t("today.count")), numeric(t("today.median_head")), numeric(t("today.p90_head"))],
      names.map((name) => h("tr", { dataset: { station: name } },
        h("td", { class: "name" }, tOr(`station.${name}`, name)), cell("count", number(stations[name].count)),
        cell("median", duration(stations[name].median_s)), cell("p90", duration(stations[name].p90_s)))))
      : empty("today.no_stations"));
  }

  renderRobots(robots) {
    replace(this.parts.robots, robots.length ? table(
      [t("today.robot"), numeric(t("today.served")), numeric(t("today.delivery_median")), t("today.deliver_tasks")],
      robots.map((robot) => h("tr", { dataset: { robotId: robot.robot_id } },
        h("td", { class: "name" }, this.robotName(robot.robot_id)), cell("served", number(robot.orders_served)),
        cell("median", duration(robot.delivery_time.median_s)),
        h("td", { class: "outcomes" }, outcomes(robot.deliver_tasks) || "—"))))
      : empty("today.no_robots"));
  }

  // Only the kinds of task that happened that day.
  renderTasks(tasks) {
    const kinds = Object.entries(tasks).filter(([, counted]) => Object.values(counted).some((n) => n > 0));
    replace(this.parts.tasks, kinds.length ? table([t("today.kind"), t("today.outcome")],
      kinds.map(([kind, counted]) => h("tr", { dataset: { kind } },
        h("td", { class: "name" }, kindLabel(kind)), h("td", { class: "outcomes" }, outcomes(counted)))))
      : empty("today.no_tasks"));
  }

  renderStock(counts) {
    const types = Object.entries(counts).filter(([, n]) => n > 0);
    replace(this.parts.stock, types.length
      ? h("ul", { class: "stock" }, types.map(([type, n]) => h("li", { dataset: { type } },
        h("span", {}, tOr(`event.type.${type}`, type)), h("span", { class: "n" }, number(n)))))
      : empty("today.no_stock"));
  }

  // Drawn at the svg's own size in pixels, so the text stays the same size on any screen.
  drawChart() {
    if (!this.report || this.root.hidden) return;
    const width = this.chart.clientWidth;
    const height = this.chart.clientHeight;
    if (!width || !height) return;
    const label = t("today.chart_label", { day: day(this.report.date) });
    this.chart.setAttribute("viewBox", `0 0 ${width} ${height}`);
    this.chart.setAttribute("aria-label", label);
    replace(this.chart, svg("title", {}, label), hourChart(this.report.hours, width, height));
  }
}

// "completed 3 · failed 1": a task kind's (or a robot's) outcomes, the statuses in words.
function outcomes(counted) {
  return Object.entries(counted).filter(([, n]) => n > 0)
    .map(([status, n]) => `${tOr(`task.status.${status}`, status)} ${number(n)}`).join(" · ");
}
