// Small shared pieces of the app's own markup.
import { h } from "@airlock/client-sdk/ui";

export { h };
export { append, replace } from "@airlock/client-sdk/ui";

let fieldId = 0;

/** A labelled form control. */
export function field(label: string, control: HTMLInputElement | HTMLTextAreaElement | HTMLSelectElement, hint?: string): HTMLElement {
  fieldId += 1;
  control.id ||= `field-${fieldId}`;
  const hintEl = hint ? h("p", { class: "hint", id: `${control.id}-hint` }, hint) : null;
  if (hintEl) control.setAttribute("aria-describedby", hintEl.id);
  return h("div", { class: "field" }, h("label", { for: control.id }, label), control, hintEl);
}

export function button(text: string, onClick: (e: MouseEvent) => void, attrs: Record<string, string | boolean> = {}): HTMLButtonElement {
  const b = h("button", { type: "button", ...attrs }, text);
  b.addEventListener("click", onClick);
  return b;
}

export function select(options: Array<{ value: string; label: string }>, value?: string): HTMLSelectElement {
  const s = h("select", null, ...options.map((o) => h("option", { value: o.value }, o.label)));
  if (value !== undefined) s.value = value;
  return s;
}
