// `gpt-oss-ts parse`: Harmony tokens (or text with special-token spellings) -> messages as JSON.
import { readFile } from "node:fs/promises";
import { parseTokens } from "../harmony/parser.js";
import { ROLES, type Role } from "../harmony/types.js";
import { getTokenizer } from "../tokenizer/tokenizer.js";
import { parseArgs, parseTokenList, UsageError } from "./args.js";


const HELP = `usage: gpt-oss-ts parse (--text FILE | --tokens IDS) [--role ROLE|none] [--strict]

Prints the messages as JSON in openai-harmony's shape ({role, name?, recipient?, channel?,
content_type?, content: [{type: "text", text}]}). Problems in the stream (a malformed header, an
unknown channel, ...) are printed to stderr as warnings and parsing goes on.

  --text FILE     text in which <|start|>, <|channel|>, ... are special tokens (one trailing newline of
                  the file is ignored)
  --tokens IDS    comma- or space-separated token ids, or @FILE to read them from a file
  --role ROLE     role of the first message when the stream starts inside its header, as a completion
                  does after "<|start|>assistant" (default assistant); none: the stream starts with <|start|>
  --strict        exit with status 1 if the stream had any problem`;

export async function run(argv: string[]): Promise<number> {
  const args = parseArgs(argv, { text: "string", tokens: "string", role: "string", strict: "boolean", help: "boolean" });
  if (args.flags.help) {
    console.log(HELP);
    return 0;
  }
  if (args.positionals.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(args.positionals[0])}`);
  const textFile = args.flags.text as string | undefined;
  const tokenArg = args.flags.tokens as string | undefined;
  if ((textFile === undefined) === (tokenArg === undefined)) throw new UsageError("give exactly one of --text FILE or --tokens IDS");
  const roleArg = (args.flags.role as string | undefined) ?? "assistant";
  if (roleArg !== "none" && !ROLES.includes(roleArg as Role)) {
    throw new UsageError(`--role: expected none or one of ${ROLES.join(", ")}, got ${JSON.stringify(roleArg)}`);
  }

  let ids: number[];
  if (textFile !== undefined) {
    const text = (await readText(textFile)).replace(/\r?\n$/, "");
    ids = getTokenizer().encode(text, { allowSpecial: true });
  } else if (tokenArg!.startsWith("@")) {
    ids = parseTokenList(await readText(tokenArg!.slice(1)));
  } else {
    ids = parseTokenList(tokenArg!);
  }

  const { messages, errors } = parseTokens(ids, { role: roleArg === "none" ? null : (roleArg as Role) });
  for (const e of errors) console.error(`gpt-oss-ts parse: warning: ${e.message}`);
  process.stdout.write(`${JSON.stringify(messages, null, 2)}\n`);
  return args.flags.strict && errors.length > 0 ? 1 : 0;
}

async function readText(file: string): Promise<string> {
  try {
    return await readFile(file, "utf8");
  } catch (e) {
    throw new Error(`cannot read ${file}: ${(e as Error).message}`);
  }
}
