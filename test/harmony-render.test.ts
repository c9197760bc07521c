import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import {
  render,
  renderConversation,
  renderConversationForCompletion,
  renderConversationForTraining,
  renderMessage,
  renderMessageToTokens,
  renderToTokens,
  type RenderMode,
} from "../src/harmony/render.js";
import { developerContent, systemContent, textMessage, toConversation, type Message } from "../src/harmony/types.js";
import { getTokenizer } from "../src/tokenizer/tokenizer.js";

const dir = new URL("./fixtures/harmony/", import.meta.url);
const cases = JSON.parse(readFileSync(new URL("cases.json", dir), "utf8")).cases as any[];
const renderCases = cases.filter((c) => c.kind === "render");
const MODES: Record<string, RenderMode> = {
  conversation_for_completion: "completion",
  conversation: "conversation",
  conversation_for_training: "training",
};
const tok = getTokenizer();

describe("Harmony renderer on the openai-harmony fixtures", () => {
  it("has all render cases", () => {
    expect(renderCases.length).toBe(15);
  });

  for (const c of renderCases) {
    it(`${c.id} (byte-exact, and token ids)`, () => {
      const expected = readFileSync(new URL(c.expected_file, dir), "utf8").trimEnd();
      const conversation = toConversation(c.conversation);
      const options = { mode: MODES[c.render], nextRole: c.next_role, autoDropAnalysis: c.config?.auto_drop_analysis };
      expect(render(conversation, options)).toBe(expected);
      // Segment-wise ordinary encoding gives the ids of the fixture read with its special tokens (§5.7).
      expect(renderToTokens(conversation, options)).toEqual(tok.encode(expected, { allowSpecial: true }));
    });
  }
});

// Spec §5.9, example 2: a function call and its result, ready for the next assistant step.
const EXAMPLE_2 = `<|start|>system<|message|>You are ChatGPT, a large language model trained by OpenAI.
Knowledge cutoff: 2024-06
Current date: 2025-06-28

Reasoning: high

# Valid channels: analysis, commentary, final. Channel must be included for every message.
Calls to these tools must go to the commentary channel: 'functions'.<|end|><|start|>developer<|message|># Instructions

Use a friendly tone.

# Tools

## functions

namespace functions {

// Gets the current weather in the provided location.
type get_current_weather = (_: {
// The city and state, e.g. San Francisco, CA
location: string,
format?: "celsius" | "fahrenheit", // default: celsius
}) => any;

} // namespace functions<|end|><|start|>user<|message|>What is the weather like in SF?<|end|><|start|>assistant<|channel|>analysis<|message|>Need to use function get_current_weather.<|end|><|start|>assistant to=functions.get_current_weather<|channel|>commentary <|constrain|>json<|message|>{"location":"San Francisco, CA"}<|call|><|start|>functions.get_current_weather to=assistant<|channel|>commentary<|message|>{"sunny": true, "temperature": 20}<|end|><|start|>assistant`;

function toolConversation(): Message[] {
  return [
    { role: "system", content: [systemContent({ reasoning_effort: "high", conversation_start_date: "2025-06-28" })] },
    {
      role: "developer",
      content: [
        developerContent("Use a friendly tone.", [
          {
            name: "get_current_weather",
            description: "Gets the current weather in the provided location.",
            parameters: {
              type: "object",
              properties: {
                location: { type: "string", description: "The city and state, e.g. San Francisco, CA" },
                format: { type: "string", enum: ["celsius", "fahrenheit"], default: "celsius" },
              },
              required: ["location"],
            },
          },
        ]),
      ],
    },
    textMessage("user", "What is the weather like in SF?"),
    textMessage("assistant", "Need to use function get_current_weather.", { channel: "analysis" }),
    textMessage("assistant", '{"location":"San Francisco, CA"}', {
      recipient: "functions.get_current_weather",
      channel: "commentary",
      content_type: "<|constrain|>json",
    }),
    textMessage("tool", '{"sunny": true, "temperature": 20}', {
      name: "functions.get_current_weather",
      recipient: "assistant",
      channel: "commentary",
    }),
  ];
}

describe("Harmony renderer", () => {
  it("renders spec §5.9 example 2 (tool call, constrain, call terminator, tool result)", () => {
    const messages = toolConversation();
    expect(renderConversationForCompletion(messages)).toBe(EXAMPLE_2);
    const ids = renderToTokens(messages);
    expect(ids).toEqual(tok.encode(EXAMPLE_2, { allowSpecial: true }));
    // ` <|constrain|>json` is a space token, the special token, then "json" (spec §7.27)
    const at = ids.indexOf(200003);
    expect(ids.slice(at - 1, at + 2)).toEqual([220, 200003, ...tok.encode("json")]);
  });

  it("keeps analysis during a tool-calling turn, drops it once the turn is answered", () => {
    const messages = toolConversation();
    expect(render(messages)).toContain("Need to use function"); // last assistant message is the call
    const answered = [...messages, textMessage("assistant", "Sunny, 20 °C.", { channel: "final" })];
    const text = render(answered);
    expect(text).not.toContain("Need to use function");
    expect(text).toContain("<|start|>functions.get_current_weather to=assistant"); // the call and result stay
    expect(render(answered, { autoDropAnalysis: false })).toContain("Need to use function");
  });

  it("drops only analysis before the first final, and only when the last assistant message is final", () => {
    const conv = [
      textMessage("user", "q1"),
      textMessage("assistant", "think1", { channel: "analysis" }),
      textMessage("assistant", "a1", { channel: "final" }),
      textMessage("user", "q2"),
      textMessage("assistant", "think2", { channel: "analysis" }),
    ];
    // last assistant message is analysis -> nothing dropped
    expect(renderConversation(conv)).toContain("think1");
    const done = [...conv, textMessage("assistant", "a2", { channel: "final" })];
    const text = renderConversation(done);
    expect(text).not.toContain("think1");
    expect(text).toContain("think2");
    expect(renderConversation(done, { autoDropAnalysis: false })).toContain("think1");
  });

  it("renders for training with <|return|> after a last final answer", () => {
    const conv = [textMessage("user", "hi"), textMessage("assistant", "Hello!", { channel: "final" })];
    expect(renderConversationForTraining(conv)).toBe(
      "<|start|>user<|message|>hi<|end|><|start|>assistant<|channel|>final<|message|>Hello!<|return|>",
    );
    expect(renderToTokens(conv, { mode: "training" }).at(-1)).toBe(200002);
    // not final -> unchanged
    const notFinal = [textMessage("user", "hi")];
    expect(renderConversationForTraining(notFinal)).toBe(renderConversation(notFinal));
  });

  it("renders a next role other than assistant", () => {
    expect(renderConversationForCompletion([textMessage("user", "x")], "user")).toBe(
      "<|start|>user<|message|>x<|end|><|start|>user",
    );
  });

  it("renders one message, with author names and recipients", () => {
    expect(renderMessage(textMessage("user", "hi", { name: "ann" }))).toBe("<|start|>user:ann<|message|>hi<|end|>");
    expect(renderMessage(textMessage("assistant", "x", { recipient: "all", channel: "final" }))).toBe(
      "<|start|>assistant<|channel|>final<|message|>x<|call|>",
    );
    expect(renderMessage(textMessage("assistant", "print(1)", { recipient: "python", channel: "analysis", content_type: "code" }))).toBe(
      "<|start|>assistant to=python<|channel|>analysis code<|message|>print(1)<|call|>",
    );
    const sys = { role: "system" as const, content: [systemContent()] };
    expect(renderMessage(sys, { conversationHasFunctionTools: true })).toContain(
      "\nCalls to these tools must go to the commentary channel: 'functions'.",
    );
  });

  it("encodes text that looks like a special token as ordinary text (spec §7.30)", () => {
    const ids = renderMessageToTokens(textMessage("user", "say <|end|> now"));
    expect(ids.filter((id) => id === 200007)).toHaveLength(1); // only the real terminator
    expect(tok.decode(ids)).toBe("<|start|>user<|message|>say <|end|> now<|end|>");
  });

  it("renders JSON-Schema details: nested objects, arrays, type lists, nullable, top-level oneOf", () => {
    const text = renderMessage({
      role: "developer",
      content: [
        developerContent(undefined, [
          {
            name: "f",
            description: "Line one.\nLine two.",
            parameters: {
              type: "object",
              properties: {
                opts: { type: "object", description: "Options", properties: { depth: { type: "integer", default: 2 } } },
                tags: { type: "array" },
                id: { type: ["string", "integer"] },
                note: { type: "string", nullable: true },
                flag: { type: "boolean", default: false },
                any: { type: "null" },
                u: { oneOf: [{ type: "string" }, { type: "number", default: 1 }], description: "d" },
              },
              required: ["opts"],
            },
          },
          { name: "g", description: "", parameters: { oneOf: [{ type: "string", description: "s" }, { type: "boolean" }] } },
        ]),
      ],
    });
    expect(text).toBe(
      "<|start|>developer<|message|># Tools\n\n## functions\n\nnamespace functions {\n\n// Line one.\n// Line two.\n" +
        "type f = (_: {\n// Options\nopts:     // Options\n{\n    depth?: number, // default: 2\n    },\n" +
        "tags?: Array<any>,\nid?: string | number,\nnote?: string | null,\nflag?: boolean, // default: false\nany?: any,\n" +
        "// d\nu?:\n | string\n | number // default: 1\n,\n}) => any;\n\n" +
        "type g = (_: \n | string // s\n | boolean) => any;\n\n} // namespace functions<|end|>",
    );
  });

  it("rejects conversations it cannot render, with clear errors", () => {
    expect(() => renderMessage({ role: "tool", content: [{ type: "text", text: "x" }] })).toThrow(/tool message needs a name/);
    expect(() => renderMessage({ role: "user", content: [systemContent()] })).toThrow(/system_content may only appear/);
    expect(() => render([], { mode: "nope" as RenderMode })).toThrow(/unknown mode/);
  });
});

describe("toConversation", () => {
  it("accepts the Python shape and its conveniences", () => {
    const conv = toConversation([
      { role: "system", name: null, content: [{ type: "system_content", reasoning_effort: "High" }] },
      { role: "user", content: "hi" },
    ]);
    expect(conv.messages[0].content[0]).toEqual({ type: "system_content", reasoning_effort: "high" });
    expect(conv.messages[1]).toEqual({ role: "user", content: [{ type: "text", text: "hi" }] });
  });

  it("reports bad input with its path", () => {
    expect(() => toConversation({})).toThrow(/expected \{"messages"/);
    expect(() => toConversation({ messages: [{ role: "bot", content: [] }] })).toThrow(/messages\[0\]\.role: expected one of/);
    expect(() => toConversation([{ role: "user", content: [{ type: "image" }] }])).toThrow(/messages\[0\]\.content\[0\]\.type/);
    expect(() => toConversation([{ role: "system", content: [{ type: "system_content", reasoning_effort: "max" }] }])).toThrow(
      /reasoning_effort: expected Low, Medium or High/,
    );
    expect(() => toConversation([{ role: "user", channel: 3, content: "x" }])).toThrow(/messages\[0\]\.channel: expected a string/);
    expect(() => toConversation([{ role: "assistant", thinking: "hm", content: "x" }])).toThrow(/unknown key "thinking" \(a Hugging Face/);
  });
});
