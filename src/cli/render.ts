// `gpt-oss-ts render`: a conversation file -> the exact prompt text (or its token ids).
import { readFile } from "node:fs/promises";
import { render, renderToTokens, type RenderMode } from "../harmony/render.js";
import { conversationToTemplateContext, loadChatTemplate, type TemplateContext } from "../harmony/template.js";
import { ROLES, toConversation, type Role } from "../harmony/types.js";
import { resolveModelDir } from "../hub/cache.js";
import { getTokenizer } from "../tokenizer/tokenizer.js";
import { optionalDate, parseArgs, requireString, UsageError } from "./args.js";

export const summary = "render a conversation (openai-harmony JSON) as prompt text or token ids";

const HELP = `usage: gpt-oss-ts render --conversation FILE.json [flags]

Prints the rendered prompt exactly as the model sees it (no newline added).

  --conversation FILE   messages in openai-harmony's JSON shape: {"messages": [{role, channel?, recipient?,
                        content_type?, content: [{type: "text", text}, ...]}, ...]}
  --mode M              completion (default): ends with <|start|>{next role}; conversation: messages only;
                        training: a last final answer ends with <|return|>
  --next-role ROLE      role the model writes next (default assistant)
  --no-drop-analysis    keep earlier chain of thought (default: drop it as openai-harmony does)
  --tokens              print token ids, comma-separated, instead of text
  --template T          harmony (default): the Harmony renderer; jinja: the model's chat_template.jinja
  --model DIR           model folder holding chat_template.jinja (with --template jinja)
  --date YYYY-MM-DD     the template's "Current date" (with --template jinja; default today)

With --template jinja, FILE may also hold the template's own variables ({messages, tools,
reasoning_effort, add_generation_prompt, ...}, Hugging Face style). The template differs from Harmony;
see docs/harmony-vs-template.md.`;

const MODES: readonly RenderMode[] = ["completion", "conversation", "training"];

export async function run(argv: string[]): Promise<number> {
  const args = parseArgs(argv, {
    conversation: "string",
    mode: "string",
    "next-role": "string",
    "no-drop-analysis": "boolean",
    tokens: "boolean",
    template: "string",
    model: "string",
    date: "string",
    help: "boolean",
  });
  if (args.flags.help) {
    console.log(HELP);
    return 0;
  }
  if (args.positionals.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(args.positionals[0])}`);
  const file = requireString(args, "conversation");
  const mode = (args.flags.mode ?? "completion") as RenderMode;
  if (!MODES.includes(mode)) throw new UsageError(`--mode: expected ${MODES.join(", ")}, got ${JSON.stringify(mode)}`);
  const nextRole = (args.flags["next-role"] ?? "assistant") as Role;
  if (!ROLES.includes(nextRole)) throw new UsageError(`--next-role: expected one of ${ROLES.join(", ")}, got ${JSON.stringify(nextRole)}`);
  if (args.flags["next-role"] !== undefined && mode !== "completion") throw new UsageError("--next-role only applies to --mode completion");
  const template = args.flags.template ?? "harmony";
  if (template !== "harmony" && template !== "jinja") throw new UsageError(`--template: expected harmony or jinja, got ${JSON.stringify(template)}`);

  const dateFlag = optionalDate(args);
  if (dateFlag === null) throw new UsageError("--date: the template needs a date (YYYY-MM-DD)");
  const json = await readJson(file);
  let text: string;
  let ids: number[] | undefined;
  if (template === "harmony") {
    for (const flag of ["model", "date"]) if (args.flags[flag] !== undefined) throw new UsageError(`--${flag} only applies to --template jinja`);
    const conversation = toConversation(json);
    const options = { mode, nextRole, autoDropAnalysis: !args.flags["no-drop-analysis"] };
    if (args.flags.tokens) ids = renderToTokens(conversation, options);
    else text = render(conversation, options);
  } else {
    const model = resolveModelDir(requireString(args, "model"));
    if (nextRole !== "assistant") throw new UsageError("--template jinja: the template can only prompt the assistant");
    if (args.flags["no-drop-analysis"]) throw new UsageError("--no-drop-analysis applies to the Harmony renderer; the template has its own rule");
    const { context, date } = templateContext(json, mode === "completion");
    const chat = await loadChatTemplate(model);
    text = chat.render(context, { date: dateFlag ?? date });
    // Hugging Face tokenizers read special-token spellings anywhere in the rendered text.
    if (args.flags.tokens) ids = getTokenizer().encode(text, { allowSpecial: true });
  }
  process.stdout.write(ids ? `${ids.join(",")}\n` : text!);
  return 0;
}

// A file with only `messages` that loads as a Harmony conversation is converted; anything else is taken
// as the template's own variables.
function templateContext(json: unknown, addGenerationPrompt: boolean): { context: TemplateContext; date?: string } {
  const isPlain = typeof json === "object" && json !== null;
  const onlyMessages = Array.isArray(json) || (isPlain && Object.keys(json).every((k) => k === "messages"));
  if (onlyMessages) {
    try {
      return conversationToTemplateContext(toConversation(json), addGenerationPrompt);
    } catch {
      // not Harmony-shaped (e.g. `thinking`, `tool_calls`): fall through
    }
  }
  const context = (Array.isArray(json) ? { messages: json } : json) as TemplateContext;
  if (!isPlain || !Array.isArray(context.messages)) throw new Error("conversation: expected {\"messages\": [...]}");
  return { context: { add_generation_prompt: addGenerationPrompt, ...context } };
}

async function readJson(file: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (e) {
    throw new Error(`cannot read ${file}: ${(e as Error).message}`);
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new Error(`${file}: not valid JSON (${(e as Error).message})`);
  }
}
