// Robot labels on the floor map that never overlap. A lone robot's label sits centred above it;
// robots crowded together (all of them start at the dock) get their labels stacked in a column
// beside the group, each joined to its robot by a leader line. Pure geometry in map metres:
// dashboard.js measures the labels and draws what this returns.

export const CROWD_M = 1.0; // robots closer than this always share one column
const ABOVE_M = 0.5; // a lone label's bottom edge above its robot's centre
const ASIDE_M = 0.7; // room between a group's robots and its column, for the leader lines
const GAP_M = 0.12; // between stacked labels
const MARGIN_M = 0.1; // from the edge of the map
const CLEAR_M = 0.05; // labels closer than this count as touching

// robots: [{ id, x, y, w, h }] in the order ties are stacked (x, y the robot; w, h its label).
// Returns Map id -> { x, y, w, h, align: "middle" | "start" | "end", leader }: the label's
// top-left corner and size, how its lines align, and whether it stands apart from its robot.
export function layoutLabels(robots, { width, height, radius }) {
  let groups = crowds(robots);
  for (;;) {
    const placed = groups.map((group) => place(group, width, height, radius));
    const clash = firstClash(placed);
    if (!clash) return new Map(placed.flat().map((label) => [label.id, label]));
    // Two groups' labels collide: they become one group, stacked in one column.
    const [i, j] = clash;
    groups[i] = [...groups[i], ...groups[j]];
    groups = groups.filter((_, n) => n !== j);
  }
}

// Groups of robots linked by chains of neighbours closer than CROWD_M.
function crowds(robots) {
  const parent = robots.map((_, i) => i);
  const root = (i) => (parent[i] === i ? i : (parent[i] = root(parent[i])));
  for (let i = 0; i < robots.length; i += 1) {
    for (let j = i + 1; j < robots.length; j += 1) {
      if (Math.hypot(robots[i].x - robots[j].x, robots[i].y - robots[j].y) < CROWD_M) {
        parent[root(j)] = root(i);
      }
    }
  }
  const groups = new Map();
  robots.forEach((robot, i) => {
    const key = root(i);
    if (!groups.has(key)) groups.set(key, []);
    groups.get(key).push(robot);
  });
  return [...groups.values()];
}

function place(group, width, height, radius) {
  if (group.length === 1) {
    const [r] = group;
    const above = r.y - ABOVE_M - r.h;
    const y = above >= MARGIN_M ? above : r.y + ABOVE_M; // no room above: below
    const x = clamp(r.x - r.w / 2, MARGIN_M, width - MARGIN_M - r.w);
    return [{ id: r.id, x, y, w: r.w, h: r.h, align: "middle", leader: false }];
  }
  // Top to bottom in the robots' own order, so the leader lines cross as little as may be.
  const order = new Map(group.map((r, i) => [r.id, i]));
  const stacked = [...group].sort((a, b) => a.y - b.y || a.x - b.x || order.get(a.id) - order.get(b.id));
  const widest = Math.max(...group.map((r) => r.w));
  const total = group.reduce((sum, r) => sum + r.h, 0) + GAP_M * (group.length - 1);
  const right = Math.max(...group.map((r) => r.x)) + radius + ASIDE_M;
  const left = Math.min(...group.map((r) => r.x)) - radius - ASIDE_M;
  const top = Math.min(...group.map((r) => r.y)) - radius - GAP_M;
  const bottom = Math.max(...group.map((r) => r.y)) + radius + GAP_M;
  const middle = group.reduce((sum, r) => sum + r.y, 0) / group.length - total / 2;
  // Beside the group on the right, else on the left; level with it, else above or below it,
  // whichever first keeps every leader line clear of the group's other robots.
  const sides = [right + widest <= width - MARGIN_M || left - widest < MARGIN_M ? "right" : null,
    left - widest >= MARGIN_M ? "left" : null].filter(Boolean);
  let best = null;
  for (const side of sides) {
    for (const from of [middle, top - total, bottom]) {
      const column = stack(stacked, side === "right" ? right : left, side,
        clamp(from, MARGIN_M, height - MARGIN_M - total));
      const crossings = crossed(column, group, radius);
      if (!best || crossings < best.crossings) best = { column, crossings };
      if (!crossings) return column;
    }
  }
  return best.column;
}

function stack(robots, edge, side, top) {
  let y = top;
  return robots.map((r) => {
    const label = { id: r.id, x: side === "right" ? edge : edge - r.w, y, w: r.w, h: r.h,
      align: side === "right" ? "start" : "end", leader: true };
    y += r.h + GAP_M;
    return label;
  });
}

// Where a label's leader line meets it: the middle of its edge facing the robots.
export function leaderEnd(label) {
  return { x: label.align === "end" ? label.x + label.w : label.x, y: label.y + label.h / 2 };
}

// How many leader lines pass over another robot of the group (one they do not start inside).
function crossed(column, group, radius) {
  const at = new Map(group.map((r) => [r.id, r]));
  let count = 0;
  for (const label of column) {
    const from = at.get(label.id);
    const to = leaderEnd(label);
    for (const other of group) {
      if (other === from || Math.hypot(other.x - from.x, other.y - from.y) < 2 * radius) continue;
      if (distanceToSegment(other, from, to) < radius) count += 1;
    }
  }
  return count;
}

function distanceToSegment(p, a, b) {
  const dx = b.x - a.x;
  const dy = b.y - a.y;
  const t = clamp(((p.x - a.x) * dx + (p.y - a.y) * dy) / (dx * dx + dy * dy || 1), 0, 1);
  return Math.hypot(p.x - (a.x + t * dx), p.y - (a.y + t * dy));
}

function firstClash(placed) {
  for (let i = 0; i < placed.length; i += 1) {
    for (let j = i + 1; j < placed.length; j += 1) {
      if (placed[i].some((a) => placed[j].some((b) => overlap(a, b)))) return [i, j];
    }
  }
  return null;
}

export function overlap(a, b) {
  return a.x < b.x + b.w + CLEAR_M && b.x < a.x + a.w + CLEAR_M
    && a.y < b.y + b.h + CLEAR_M && b.y < a.y + a.h + CLEAR_M;
}

function clamp(value, low, high) {
  return high < low ? low : Math.min(Math.max(value, low), high);
}
