// The table's side of the guest view (SPEC §11.4, §11.6): each order's progress line, the robot
// bringing it, the call buttons, and the check.
import { h, replace } from "./dom.js";
import { lang, number, t } from "./i18n.js";
import { dishName, money, optionName } from "./guest_format.js";

// An order's way from the kitchen to the table, one step per status.
const STEPS = [
  ["placed", () => t("guest.step_received")],
  ["preparing", () => t("guest.step_cooking")],
  ["ready", () => t("guest.step_ready")],
  ["delivering", () => t("guest.step_on_way")],
  ["served", () => t("guest.step_served")],
];
const STEP_OF = new Map(STEPS.map(([status], index) => [status, index]));

// The robot of the view carries this order (its task has a stop here with the order on it).
const carries = (robot, order) => Boolean(robot) && (robot.order_ids ?? []).includes(order.id);

const seconds = (eta) => number(Math.max(0, Math.round(eta)));

// The one sentence under an order's progress line: where it is now.
function now(order, robot) {
  const carried = carries(robot, order) && ["ready", "delivering"].includes(order.status);
  if (carried && robot.at_table) return { text: t("guest.now_at_table", { robot: robot.name }), tone: "here" };
  if (order.status === "delivering" && carried) {
    return {
      text: robot.eta_s === null || robot.eta_s === undefined
        ? t("guest.now_robot", { robot: robot.name })
        : t("guest.now_robot_eta", { robot: robot.name, s: seconds(robot.eta_s) }),
      tone: "moving",
    };
  }
  const said = {
    placed: () => t("guest.now_placed"),
    preparing: () => t("guest.now_preparing"),
    ready: () => t("guest.now_ready"),
    delivering: () => t("guest.now_delivering"),
    served: () => t("guest.now_served"),
    cancelled: () => t("guest.now_cancelled"),
  }[order.status];
  return { text: said ? said() : order.status, tone: order.status };
}

function steps(order) {
  const at = STEP_OF.get(order.status) ?? -1;
  return h("ol", { class: "steps", "aria-hidden": "true" },
    STEPS.map(([status, label], index) => h("li", {
      class: index < at || order.status === "served" ? "step done" : index === at ? "step current" : "step",
      dataset: { step: status },
    }, h("span", { class: "step-label" }, label()))));
}

// A line's options are the kitchen's names; the menu's dish of that name says them in the
// guest's language when it still offers them.
function optionNames(item, dishNamed) {
  const offered = dishNamed(item.name)?.options ?? [];
  return item.options.map((name) => {
    const option = offered.find((o) => o.name === name);
    return option ? optionName(option) : name;
  });
}

function itemEl(item, dishNamed) {
  return h("li", { class: item.done ? "order-item done" : "order-item" },
    h("span", { class: "item-qty" }, `${number(item.qty)}×`),
    h("span", { class: "item-name" }, h("span", { class: "item-title" }, dishName(item)),
      item.options?.length ? h("span", { class: "item-options" }, optionNames(item, dishNamed).join(", ")) : null,
      item.note ? h("span", { class: "item-note" }, item.note) : null),
    h("span", { class: "price" }, money((item.price ?? 0) * item.qty)));
}

function clockTime(iso) {
  return iso ? new Date(iso).toLocaleTimeString(lang, { hour: "numeric", minute: "2-digit" }) : "";
}

// A guest may take back an order the kitchen has not started (SPEC §11.5): two taps, so a
// thumb brushing the button does not. The first tap is remembered across redraws (the view
// changes every second while a robot is on its way).
const ARMED_MS = 4000;
const armed = new Map(); // order id -> the timer that disarms it

function cancelButton(order, onCancel) {
  const isArmed = armed.has(order.id);
  const button = h("button", { type: "button", class: isArmed ? "cancel small armed" : "cancel small",
    dataset: { cancel: order.id } }, t(isArmed ? "guest.cancel_sure" : "guest.cancel"));
  button.addEventListener("click", () => {
    if (armed.has(order.id)) {
      clearTimeout(armed.get(order.id));
      armed.delete(order.id);
      onCancel(order, button);
      return;
    }
    armed.set(order.id, setTimeout(() => {
      armed.delete(order.id);
      const shown = document.querySelector(`button[data-cancel="${order.id}"]`);
      if (shown) { shown.textContent = t("guest.cancel"); shown.classList.remove("armed"); }
    }, ARMED_MS));
    button.textContent = t("guest.cancel_sure");
    button.classList.add("armed");
  });
  return button;
}

export function renderOrders(list, view, { onCancel, dishNamed }) {
  const orders = view?.orders ?? [];
  replace(list, orders.map((order, index) => {
    const said = now(order, view.robot);
    const cancellable = order.status === "placed" && !order.items.some((item) => item.done);
    return h("li", { class: `order ${order.status}`, dataset: { orderId: order.id, status: order.status } },
      h("div", { class: "order-head" },
        h("span", { class: "order-title" }, t("guest.order_n", { n: index + 1 })),
        h("span", { class: "order-time muted" }, clockTime(order.created_at)),
        h("span", { class: "order-total price" }, money(order.total ?? 0))),
      order.status === "cancelled" ? null : steps(order),
      h("p", { class: "order-now", dataset: { tone: said.tone } }, said.text),
      h("ul", { class: "order-items" }, order.items.map((item) => itemEl(item, dishNamed))),
      cancellable ? cancelButton(order, onCancel) : null);
  }));
}

// A robot coming for a call, or to clear the table, carries none of the orders: said by the calls.
export function robotVisit(el, robot) {
  const errand = robot && !(robot.order_ids ?? []).length;
  el.hidden = !errand;
  if (!errand) return;
  el.textContent = robot.at_table ? t("guest.robot_here", { robot: robot.name })
    : robot.eta_s === null || robot.eta_s === undefined ? t("guest.robot_coming", { robot: robot.name })
    : t("guest.robot_coming_eta", { robot: robot.name, s: seconds(robot.eta_s) });
}

// Each call button says "called" while its call is open; asking again changes nothing.
export function renderCalls(buttons, openKinds) {
  for (const button of buttons) {
    const called = openKinds.has(button.dataset.kind);
    button.classList.toggle("called", called);
    button.setAttribute("aria-pressed", called ? "true" : "false");
    button.querySelector(".call-state").textContent = called ? t("guest.called") : "";
  }
}

export function renderCheck(dl, check) {
  dl.hidden = !check;
  if (!check) return;
  const currency = check.currency || undefined;
  dl.querySelector("#check-total").textContent = money(check.total, currency);
  dl.querySelector("#check-paid").textContent = money(check.paid, currency);
  dl.querySelector("#check-due").textContent = money(check.due, currency);
}
