// The host agent runs for days and talks to peers it does not control: one
// rejected promise nobody handles ends the process (Node's default) and every
// device session with it. This test type-checks host-agent/src and fails on
// any promise that is neither awaited, returned, stored, nor given a handler:
// a statement `p;` or `void p;` must end in `.catch(…)` or `.then(ok, fail)`
// (a `.finally(…)` after one of those is fine).
import { readdirSync } from "node:fs";
import { join, relative } from "node:path";
import ts from "typescript";
import { describe, expect, it } from "vitest";

const ROOT = new URL("../..", import.meta.url).pathname;
const SRC = join(ROOT, "host-agent/src");

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith(".ts") && !e.name.endsWith(".test.ts") ? [join(dir, e.name)] : [],
  );
}

function isHandled(expr: ts.Expression): boolean {
  const e = ts.isParenthesizedExpression(expr) ? expr.expression : expr;
  if (!ts.isCallExpression(e) || !ts.isPropertyAccessExpression(e.expression)) return false;
  const method = e.expression.name.text;
  if (method === "catch") return true;
  if (method === "then") return e.arguments.length >= 2;
  if (method === "finally") return isHandled(e.expression.expression);
  return false;
}

/** Every unhandled floating promise in host-agent/src, as "file:line: text". */
function floatingPromises(files: string[]): string[] {
  const config = ts.getParsedCommandLineOfConfigFile(join(ROOT, "tsconfig.json"), {}, { ...ts.sys, onUnRecoverableConfigFileDiagnostic: () => undefined })!;
  const program = ts.createProgram(files, { ...config.options, noEmit: true });
  const checker = program.getTypeChecker();
  const isPromise = (node: ts.Expression) => {
    const type = checker.getTypeAtLocation(node);
    const then = type.getProperty("then");
    return then !== undefined && checker.getTypeOfSymbolAtLocation(then, node).getCallSignatures().length > 0;
  };
  const found: string[] = [];
  for (const file of files) {
    const source = program.getSourceFile(file)!;
    const visit = (node: ts.Node) => {
      if (ts.isExpressionStatement(node)) {
        let expr = node.expression;
        if (ts.isVoidExpression(expr)) expr = expr.expression;
        const assignment =
          ts.isBinaryExpression(expr) && expr.operatorToken.kind >= ts.SyntaxKind.FirstAssignment && expr.operatorToken.kind <= ts.SyntaxKind.LastAssignment;
        if (!assignment && !ts.isAwaitExpression(expr) && isPromise(expr) && !isHandled(expr)) {
          const { line } = source.getLineAndCharacterOfPosition(node.getStart());
          found.push(`${relative(ROOT, file)}:${line + 1}: ${node.getText().slice(0, 120)}`);
        }
      }
      // Arrow functions with an expression body return their value: `() => p` hands p to the caller.
      ts.forEachChild(node, visit);
    };
    visit(source);
  }
  return found;
}

describe("host-agent has no floating promises", () => {
  it("finds one in a sample (the check can fail)", () => {
    const sample = join(ROOT, "test/host-agent/fixtures/floating-sample.ts");
    expect(floatingPromises([sample]).map((l) => l.replace(/^[^:]+:\d+: /, ""))).toEqual([
      "void work();",
      "work();",
      "work().then(() => undefined);",
      "void work().finally(() => undefined);",
    ]);
  });

  it("every promise in host-agent/src is awaited, returned, stored or handled", () => {
    expect(floatingPromises(sources(SRC))).toEqual([]);
  }, 60_000);
});
