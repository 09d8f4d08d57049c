"""Models: the scripted one, and the OpenAI client against a real chat-completions server on
loopback (scripted answers, a 500 then success, a 429 then success, a context-length 400)."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from swe_harness.agent.models import (ContextLimitExceeded, ModelError, OpenAIChatModel,
                                      ScriptedModel)


class ChatServer:
    """Answers POST /v1/chat/completions from a list of (status, body) and records requests."""

    def __init__(self, answers):
        self.answers = list(answers)
        self.requests: list[dict] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get("content-length", 0))
                server.requests.append({"path": self.path, "auth": self.headers.get("authorization"),
                                        "body": json.loads(self.rfile.read(length))})
                status, body = server.answers.pop(0)
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                if status == 429:
                    self.send_header("retry-after-ms", "10")
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def completion(text, finish="stop", prompt=11, completion_tokens=7):
    return (200, {"id": "c1", "object": "chat.completion", "created": 0, "model": "m",
                  "choices": [{"index": 0, "finish_reason": finish,
                               "message": {"role": "assistant", "content": text}}],
                  "usage": {"prompt_tokens": prompt, "completion_tokens": completion_tokens,
                            "total_tokens": prompt + completion_tokens}})


def error(status, message, code=None):
    return (status, {"error": {"message": message, "type": "invalid_request_error",
                               "param": None, "code": code}})


@pytest.fixture
def server(request):
    srv = ChatServer(request.param)
    yield srv
    srv.close()


def model(server, retries=3, **kwargs):
    return OpenAIChatModel("qwen-test", server.url, "sk-test", max_retries=retries, timeout_s=10,
                           **kwargs)


@pytest.mark.parametrize("server", [[completion("one"), completion("two")]], indirect=True)
def test_replies_parameters_and_usage(server):
    m = model(server, temperature=0.7, top_p=0.9, max_tokens=64, stop=["</s>"])
    messages = [{"role": "user", "content": "hi"}]
    assert m.query(messages).text == "one"
    reply = m.query(messages)
    assert reply.text == "two" and reply.usage["prompt_tokens"] == 11
    assert m.usage["total_tokens"] == 36
    body = server.requests[0]["body"]
    assert server.requests[0]["path"] == "/v1/chat/completions"
    assert server.requests[0]["auth"] == "Bearer sk-test"
    assert (body["model"], body["messages"], body["temperature"], body["top_p"],
            body["max_tokens"], body["stop"]) == ("qwen-test", messages, 0.7, 0.9, 64, ["</s>"])


@pytest.mark.parametrize("server", [[error(500, "boom"), completion("after 500")],
                                    [error(429, "slow down"), completion("after 429")]],
                         indirect=True)
def test_server_errors_and_rate_limits_are_retried(server):
    assert model(server).query([{"role": "user", "content": "x"}]).text.startswith("after")
    assert len(server.requests) == 2


@pytest.mark.parametrize("server", [[error(400, "This model's maximum context length is 32768 "
                                              "tokens. However, you requested 40000 tokens.")],
                                    [error(400, "too long", code="context_length_exceeded")]],
                         indirect=True)
def test_a_context_length_error_is_context_limit(server):
    with pytest.raises(ContextLimitExceeded):
        model(server).query([{"role": "user", "content": "x" * 1000}])
    assert len(server.requests) == 1  # never retried


@pytest.mark.parametrize("server", [[error(400, "unknown field"), error(503, "down"),
                                     error(503, "down")]],
                         indirect=True)
def test_other_failures_are_model_errors(server):
    m = model(server, retries=1)
    with pytest.raises(ModelError, match="refused"):
        m.query([{"role": "user", "content": "x"}])
    with pytest.raises(ModelError) as info:
        m.query([{"role": "user", "content": "x"}])
    assert not isinstance(info.value, ContextLimitExceeded) and len(server.requests) == 3


def test_the_scripted_model_replays_a_list_or_a_trajectory():
    scripted = ScriptedModel(["a", "b"])
    assert [scripted.query([]).text, scripted.query([]).text] == ["a", "b"]
    with pytest.raises(ModelError, match="only 2 replies"):
        scripted.query([])
    record = {"messages": [{"role": "system", "content": "s"}, {"role": "assistant", "content": "x"},
                           {"role": "user", "content": "o"}, {"role": "assistant", "content": "y"}]}
    assert ScriptedModel.from_trajectory(record).replies == ["x", "y"]
