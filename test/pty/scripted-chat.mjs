// The chat REPL with a scripted "model", for driving it in a pseudo-terminal (test/cli-chat.test.ts).
// The reply depends on the prompt: after a tool result, an answer; a question about the weather, a tool
// call; the first turn, reasoning then an answer; any other, a long answer written slowly, to be
// interrupted with Ctrl-C. Run from the repository root after `tsc` (it uses dist/).
import { repl } from "../../dist/src/cli/chat.js";
import { getTokenizer } from "../../dist/src/tokenizer/tokenizer.js";

const tok = getTokenizer();
const ids = (s) => tok.encode(s, { allowSpecial: true });
const first = ids("<|channel|>analysis<|message|>The user greets me.<|end|><|start|>assistant<|channel|>final<|message|>Hello from the script!<|return|>");
const call = ids("<|channel|>analysis<|message|>Need the weather.<|end|><|start|>assistant<|channel|>commentary to=functions.get_weather <|constrain|>json<|message|>{\"location\": \"Paris\"}<|call|>");
const answer = ids("<|channel|>final<|message|>It is sunny in Paris.<|return|>");
const long = ids(`<|channel|>final<|message|>${"and so on ".repeat(400)}<|return|>`);
let turn = 0;
const source = {
  async *generate(prompt, options) {
    const text = tok.decode(prompt);
    const lastUser = text.slice(text.lastIndexOf("<|start|>user"));
    const script = text.endsWith("<|end|><|start|>assistant") && /<\|start\|>functions\.[^<]*<\|channel\|>commentary<\|message\|>[^<]*<\|end\|><\|start\|>assistant$/.test(text) ? answer
      : /weather/i.test(lastUser) ? call
      : turn++ === 0 ? first
      : long;
    for (let index = 0; index < script.length; index++) {
      if (options.signal?.aborted) return;
      await new Promise((r) => setTimeout(r, 15));
      yield { token: script[index], index };
      if (options.stopTokens?.includes(script[index])) return;
    }
  },
};
const tools = [{ name: "get_weather", description: "Gets the weather.", parameters: { type: "object", properties: { location: { type: "string" } } } }];
process.exitCode = await repl(source, { date: "2025-06-28", reasoningEffort: "low", tools });
