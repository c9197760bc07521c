import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { ChatTemplate, conversationToTemplateContext, loadChatTemplate } from "../src/harmony/template.js";
import { toConversation } from "../src/harmony/types.js";

const dir = new URL("./fixtures/chat-template/", import.meta.url);
const source = readFileSync(new URL("chat_template.jinja", dir), "utf8");
const renders = JSON.parse(readFileSync(new URL("chat-template-renders.json", dir), "utf8")).cases as Record<string, { context: any; rendered: string }>;
const harmonyCases = JSON.parse(readFileSync(new URL("../harmony/cases.json", dir), "utf8")).cases as any[];
const DATE = "2025-06-28";

describe("chat_template.jinja through @huggingface/jinja", () => {
  const template = new ChatTemplate(source);

  for (const [name, { context, rendered }] of Object.entries(renders)) {
    it(`matches Python jinja2 on ${name}`, () => {
      expect(template.render(context, { date: DATE })).toBe(rendered);
    });
  }

  it("loads the template from a model folder", async () => {
    const t = await loadChatTemplate(fileURLToPath(dir));
    expect(t.render(renders.simple.context, { date: new Date(2025, 5, 28) })).toBe(renders.simple.rendered);
    await expect(loadChatTemplate("/nonexistent-model-dir")).rejects.toThrow(/no chat_template\.jinja/);
  });

  it("writes today's date by default, and reports template errors clearly", () => {
    const today = new Date();
    const ymd = `${today.getFullYear()}-${String(today.getMonth() + 1).padStart(2, "0")}-${String(today.getDate()).padStart(2, "0")}`;
    expect(template.render(renders.simple.context)).toContain(`Current date: ${ymd}`);
    expect(() => template.render({ messages: [{ role: "tool", content: "x" }] })).toThrow(/no previous assistant message with a tool call/);
    expect(() => template.render(renders.simple.context, { date: "28/06/2025" })).toThrow(/expected YYYY-MM-DD/);
    expect(() => new ChatTemplate("{% if %}", "bad.jinja")).toThrow(/bad\.jinja: cannot parse/);
  });

  it("renders Harmony conversations converted to the template's variables", () => {
    const template = new ChatTemplate(source);
    // openai-harmony's CoT-dropping conversation becomes the template's drop_cot case.
    const cot = toConversation(harmonyCases.find((c) => c.id === "test_dropping_cot_by_default").conversation);
    const { context } = conversationToTemplateContext(cot);
    expect(context).toEqual(renders.drop_cot.context);
    expect(template.render(context, { date: DATE })).toBe(renders.drop_cot.rendered);

    // A tool call with its analysis and result.
    const call = toConversation([
      { role: "user", content: "What is the weather in SF?" },
      { role: "assistant", channel: "analysis", content: "User asks: “What is the weather in SF?” We need to use lookup_weather tool." },
      { role: "assistant", recipient: "functions.lookup_weather", channel: "commentary", content_type: "<|constrain|>json", content: '{"location": "San Francisco"}' },
      { role: "tool", name: "functions.lookup_weather", recipient: "assistant", channel: "commentary", content: '{"temperature": 20, "description": "sunny"}' },
    ]);
    expect(conversationToTemplateContext(call).context).toEqual(renders.tool_call.context);

    // System content: effort, date, built-in tools; developer content: instructions and functions.
    const tools = toConversation(harmonyCases.find((c) => c.id === "test_browser_and_python_tool").conversation);
    const converted = conversationToTemplateContext(tools);
    expect(converted.date).toBe(DATE);
    expect(converted.context.builtin_tools).toEqual(["browser", "python"]);
    expect(template.render(converted.context, { date: converted.date })).toBe(
      template.render({ ...renders.builtin.context, messages: converted.context.messages }, { date: DATE }),
    );
  });
});
