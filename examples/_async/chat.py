"""Basic chat: one request, the reply and its usage, choosing models, and typed errors."""

from __future__ import annotations

from _setup import banner, chat_client, run

from mbxai import AsyncOpenRouterClient, OpenRouterAPIError, OpenRouterModel
from mbxai.testing import Failure


async def main() -> None:
    banner("Basic chat")
    async with chat_client() as client:
        response = await client.create(
            [{"role": "user", "content": "What is the capital of France?"}]
        )
        print("reply:", response.choices[0].message.content)
        if response.usage is not None:
            print(f"usage: {response.usage.total_tokens} tokens")

        # A model is an OpenRouterModel member, a name you registered, or any slug; per
        # call (model=...) or as the client's default (client.model = ...).
        AsyncOpenRouterClient.register_model("HOUSE_MODEL", OpenRouterModel.GPT_4O_MINI.value)
        client.model = "HOUSE_MODEL"
        print("default model:", client.model)
        response = await client.create(
            [{"role": "user", "content": "Say hello in French."}], max_tokens=20
        )
        print("reply:", response.content)  # shorthand for choices[0].message.content

    # Errors are typed: every API error is an OpenRouterAPIError with the status, the
    # body and the request id (offline, the fake is told to answer 400 here).
    async with chat_client(Failure(400, "no-such/model is not a valid model ID")) as client:
        try:
            await client.create([{"role": "user", "content": "Hi"}], model="no-such/model")
        except OpenRouterAPIError as exc:
            print(f"error: {type(exc).__name__} (HTTP {exc.status_code}): {exc.message}")


if __name__ == "__main__":
    run(main)
