// The shape every per-family rules module shares. A rule looks at one simple
// command (its base name and its arguments) and returns a verdict, or null
// when the command is not of its family. Rules that run another command
// (`sudo git push`, `npx vitest`, `find -exec rm`) classify it through
// `Inner`, which the composer in classify.ts provides, so no rules module
// imports the composer and there are no import cycles.
import type { Classification } from "../classification.ts";
import type { Where } from "../paths.ts";
import type { Word } from "../shell-parse.ts";

/** Where we are while walking a command line. */
export interface State extends Where {
  /** Nesting depth of substitutions and `sh -c`; bounded. */
  depth: number;
  /** This command reads the previous command's output from a pipe. */
  pipeIn: boolean;
}

/** Classifying a command found inside another one. */
export interface Inner {
  /** One simple command given as words. */
  words(ws: Word[], st: State): Classification;
  /** A whole shell line. */
  line(src: string, st: State): Classification;
}

export type Rule = (name: string, args: Word[], st: State, inner: Inner) => Classification | null;
