// What every page says of a dish it may offer: the one rule of "may be ordered". A dish the
// kitchen switched off (86, `available`) or that its stock cannot make (`sold_out`, which the
// server derives from the dish's recipe and the inventory) is shown, never ordered.
export const orderable = (dish) => Boolean(dish) && dish.available !== false && !dish.sold_out;
