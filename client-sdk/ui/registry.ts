// Defines custom elements once, whoever asks first (index.ts or a component
// that nests another).
export function defineOnce(name: string, ctor: CustomElementConstructor): void {
  if (typeof customElements !== "undefined" && !customElements.get(name)) customElements.define(name, ctor);
}
