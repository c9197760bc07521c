// JSON Schema `pattern` (an ECMAScript regular expression, `u` flag) as an automaton over code points.
// The subset that has a finite automaton: literals, `.`, classes and their escapes (\d \w \s ...),
// groups, alternation, the quantifiers * + ? {n} {n,} {n,m} (lazy ones match the same strings), and
// `^` / `$` at the ends of the pattern or of a top-level alternative. Lookarounds, backreferences and
// word boundaries are refused. A pattern is a search, so an unanchored end matches anything there.
import { GptOssError } from "../util/errors.js";
import { complement, MAX_CODE_POINT, normalize, type CodePointRanges } from "./utf8.js";

/** An automaton over code points without empty moves: from each state, ranges of code points -> state. */
export interface CodePointNfa {
  start: number;
  accepting: boolean[];
  edges: { ranges: CodePointRanges; to: number }[][];
}

export class PatternError extends GptOssError {
  constructor(message: string) {
    super(message);
  }
}

type Node =
  | { t: "set"; ranges: [number, number][] }
  | { t: "seq"; items: Node[] }
  | { t: "alt"; items: Node[] }
  | { t: "rep"; item: Node; min: number; max: number };

const ANY: [number, number][] = [[0, MAX_CODE_POINT]];
const DIGIT: [number, number][] = [[0x30, 0x39]];
const WORD: [number, number][] = [[0x30, 0x39], [0x41, 0x5a], [0x5f, 0x5f], [0x61, 0x7a]];
// ECMAScript WhiteSpace and LineTerminator.
const SPACE: [number, number][] = normalize([
  [0x09, 0x0d], [0x20, 0x20], [0xa0, 0xa0], [0x1680, 0x1680], [0x2000, 0x200a], [0x2028, 0x2029],
  [0x202f, 0x202f], [0x205f, 0x205f], [0x3000, 0x3000], [0xfeff, 0xfeff],
]);
const NOT_LINE_TERMINATOR = complement([[0x0a, 0x0a], [0x0d, 0x0d], [0x2028, 0x2029]]);

/** Largest automaton a pattern may become (counted quantifiers copy their operand). */
const MAX_STATES = 20_000;

/** Compiles `pattern`; throws PatternError naming what is not supported. */
export function compilePattern(pattern: string): CodePointNfa {
  try {
    new RegExp(pattern, "u");
  } catch (e) {
    throw new PatternError(`not a valid regular expression: ${(e as Error).message}`);
  }
  const ast = new Parser(pattern).parse();
  return new Builder().build(ast);
}

class Parser {
  private at = 0;
  constructor(private readonly src: string) {}

  parse(): Node {
    // Top-level alternatives carry their own anchors; an unanchored side may be preceded/followed by anything.
    const branches: Node[] = [];
    for (;;) {
      const anchoredStart = this.eat("^");
      const items = this.sequence(true);
      const anchoredEnd = items.length > 0 && items[items.length - 1] === END;
      if (anchoredEnd) items.pop();
      if (!anchoredStart) items.unshift({ t: "rep", item: { t: "set", ranges: ANY }, min: 0, max: Infinity });
      if (!anchoredEnd) items.push({ t: "rep", item: { t: "set", ranges: ANY }, min: 0, max: Infinity });
      branches.push({ t: "seq", items });
      if (!this.eat("|")) break;
    }
    if (this.at < this.src.length) throw this.error(`unexpected ${JSON.stringify(this.src[this.at])}`);
    return branches.length === 1 ? branches[0] : { t: "alt", items: branches };
  }

  private alternation(): Node {
    const items = [{ t: "seq", items: this.sequence(false) } as Node];
    while (this.eat("|")) items.push({ t: "seq", items: this.sequence(false) });
    return items.length === 1 ? items[0] : { t: "alt", items };
  }

  /** Atoms with their quantifiers up to `|`, `)` or the end; at top level a final `$` is kept as END. */
  private sequence(top: boolean): Node[] {
    const items: Node[] = [];
    while (this.at < this.src.length && this.peek() !== "|" && this.peek() !== ")") {
      if (this.peek() === "$") {
        this.at++;
        if (top && (this.at === this.src.length || this.peek() === "|")) {
          items.push(END);
          return items;
        }
        throw this.error("`$` is only supported at the end of the pattern");
      }
      if (this.peek() === "^") throw this.error("`^` is only supported at the start of the pattern");
      items.push(this.quantified(this.atom()));
    }
    return items;
  }

  private quantified(item: Node): Node {
    for (;;) {
      const c = this.peek();
      let min: number, max: number;
      if (c === "*") [min, max] = [0, Infinity];
      else if (c === "+") [min, max] = [1, Infinity];
      else if (c === "?") [min, max] = [0, 1];
      else if (c === "{" && /^\{\d+(,\d*)?\}/.test(this.src.slice(this.at))) {
        const m = /^\{(\d+)(,(\d*))?\}/.exec(this.src.slice(this.at))!;
        this.at += m[0].length - 1;
        min = Number(m[1]);
        max = m[2] === undefined ? min : m[3] === "" ? Infinity : Number(m[3]);
        if (max < min) throw this.error("quantifier range out of order");
      } else return item;
      this.at++;
      this.eat("?"); // lazy: same language
      item = { t: "rep", item, min, max };
    }
  }

  private atom(): Node {
    const c = this.src.codePointAt(this.at)!;
    const ch = String.fromCodePoint(c);
    this.at += ch.length;
    switch (ch) {
      case ".":
        return { t: "set", ranges: NOT_LINE_TERMINATOR };
      case "(": {
        if (this.src.startsWith("?:", this.at)) this.at += 2;
        else if (this.src.startsWith("?<", this.at) && !/^\?<[=!]/.test(this.src.slice(this.at))) {
          const close = this.src.indexOf(">", this.at);
          this.at = close + 1; // a named group is just a group here
        } else if (this.peek() === "?") throw this.error("lookaround assertions are not supported");
        const inner = this.alternation();
        if (!this.eat(")")) throw this.error("missing `)`");
        return inner;
      }
      case "[":
        return { t: "set", ranges: this.charClass() };
      case "\\":
        return { t: "set", ranges: this.escape(false) };
      case "*": case "+": case "?": case "{": case "}": case ")": case "]": case "|":
        if (ch === "{" || ch === "}" || ch === "]") return { t: "set", ranges: [[c, c]] };
        throw this.error(`unexpected ${JSON.stringify(ch)}`);
      default:
        return { t: "set", ranges: [[c, c]] };
    }
  }

  private charClass(): [number, number][] {
    const negate = this.eat("^");
    const ranges: [number, number][] = [];
    while (this.at < this.src.length && this.peek() !== "]") {
      const lo = this.classAtom();
      if (this.peek() === "-" && this.src[this.at + 1] !== "]" && this.at + 1 < this.src.length) {
        this.at++;
        const hi = this.classAtom();
        if (lo.length !== 1 || hi.length !== 1 || lo[0][0] !== lo[0][1] || hi[0][0] !== hi[0][1]) throw this.error("a class escape cannot bound a range");
        if (hi[0][0] < lo[0][0]) throw this.error("character class range out of order");
        ranges.push([lo[0][0], hi[0][0]]);
      } else ranges.push(...lo);
    }
    if (!this.eat("]")) throw this.error("missing `]`");
    const set = normalize(ranges);
    return negate ? complement(set) : set;
  }

  private classAtom(): [number, number][] {
    const c = this.src.codePointAt(this.at)!;
    this.at += c > 0xffff ? 2 : 1;
    if (c === 0x5c) return this.escape(true);
    return [[c, c]];
  }

  private escape(inClass: boolean): [number, number][] {
    const ch = this.src[this.at++];
    if (ch === undefined) throw this.error("a pattern cannot end with `\\`");
    const one = (cp: number): [number, number][] => [[cp, cp]];
    switch (ch) {
      case "d": return DIGIT;
      case "D": return complement(DIGIT);
      case "w": return WORD;
      case "W": return complement(WORD);
      case "s": return SPACE;
      case "S": return complement(SPACE);
      case "n": return one(0x0a);
      case "r": return one(0x0d);
      case "t": return one(0x09);
      case "f": return one(0x0c);
      case "v": return one(0x0b);
      case "0": return one(0);
      case "b":
        if (inClass) return one(0x08);
        throw this.error("word boundaries (\\b) are not supported");
      case "B": throw this.error("word boundaries (\\B) are not supported");
      case "x": {
        const m = /^[0-9a-fA-F]{2}/.exec(this.src.slice(this.at));
        if (!m) throw this.error("\\x needs two hex digits");
        this.at += 2;
        return one(parseInt(m[0], 16));
      }
      case "u": {
        const m = /^(?:\{([0-9a-fA-F]+)\}|([0-9a-fA-F]{4}))/.exec(this.src.slice(this.at));
        if (!m) throw this.error("\\u needs four hex digits or {...}");
        this.at += m[0].length;
        let cp = parseInt(m[1] ?? m[2], 16);
        // A surrogate pair written as two \u escapes is one code point.
        const low = /^\\u(d[c-f][0-9a-f]{2})/i.exec(this.src.slice(this.at));
        if (cp >= 0xd800 && cp <= 0xdbff && low) {
          this.at += 6;
          cp = 0x10000 + ((cp - 0xd800) << 10) + (parseInt(low[1], 16) - 0xdc00);
        }
        return one(cp);
      }
      case "p": case "P":
        throw this.error("Unicode property escapes (\\p{...}) are not supported");
      case "k":
        throw this.error("backreferences are not supported");
      case "c":
        throw this.error("control escapes (\\c) are not supported");
      default:
        if (/[1-9]/.test(ch)) throw this.error("backreferences are not supported");
        return one(ch.codePointAt(0)!);
    }
  }

  private peek(): string {
    return this.src[this.at];
  }

  private eat(s: string): boolean {
    if (this.src[this.at] !== s) return false;
    this.at++;
    return true;
  }

  private error(message: string): PatternError {
    return new PatternError(`${message} (at offset ${this.at})`);
  }
}

const END: Node = { t: "seq", items: [] };

/** Thompson's construction, then the empty moves removed. */
class Builder {
  private eps: number[][] = [];
  private moves: { ranges: CodePointRanges; to: number }[][] = [];

  build(ast: Node): CodePointNfa {
    const start = this.state();
    const end = this.emit(ast, start);
    // Remove empty moves: a state takes the moves and the acceptance of everything it reaches by them.
    const n = this.eps.length;
    const closure = (s: number) => {
      const seen = new Set([s]);
      const stack = [s];
      while (stack.length) for (const t of this.eps[stack.pop()!]) if (!seen.has(t)) seen.add(t), stack.push(t);
      return seen;
    };
    const accepting: boolean[] = [];
    const edges: { ranges: CodePointRanges; to: number }[][] = [];
    for (let s = 0; s < n; s++) {
      const c = closure(s);
      accepting[s] = c.has(end);
      edges[s] = [...c].flatMap((t) => this.moves[t]);
    }
    return { start, accepting, edges };
  }

  private state(): number {
    if (this.eps.length >= MAX_STATES) throw new PatternError(`the pattern needs more than ${MAX_STATES} automaton states (lower its counted repetitions)`);
    this.eps.push([]);
    this.moves.push([]);
    return this.eps.length - 1;
  }

  /** Adds the automaton of `node` starting at `from`; returns its end state. */
  private emit(node: Node, from: number): number {
    switch (node.t) {
      case "set": {
        const to = this.state();
        if (node.ranges.length > 0) this.moves[from].push({ ranges: node.ranges, to });
        return to;
      }
      case "seq":
        return node.items.reduce((at, item) => this.emit(item, at), from);
      case "alt": {
        const end = this.state();
        for (const item of node.items) {
          const start = this.state();
          this.eps[from].push(start);
          this.eps[this.emit(item, start)].push(end);
        }
        return end;
      }
      case "rep": {
        let at = from;
        for (let i = 0; i < node.min; i++) at = this.emit(node.item, at);
        if (node.max === Infinity) {
          // at -> item -> back to at, and out.
          const loop = this.state();
          this.eps[at].push(loop);
          const end = this.emit(node.item, loop);
          this.eps[end].push(loop);
          return loop;
        }
        const end = this.state();
        for (let i = node.min; i < node.max; i++) {
          this.eps[at].push(end);
          at = this.emit(node.item, at);
        }
        this.eps[at].push(end);
        return end;
      }
    }
  }
}
