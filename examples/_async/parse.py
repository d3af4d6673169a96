"""Structured output: the reply validated into a Pydantic model, re-asked when invalid."""

from __future__ import annotations

from _setup import banner, chat_client, online, run
from pydantic import BaseModel, Field

from mbxai import StructuredOutputError


class CityInfo(BaseModel):
    name: str = Field(description="City name")
    population: int = Field(description="Population count")
    country: str = Field(description="Country name")


class Stop(BaseModel):
    city: str
    nights: int = Field(description="Nights to stay")


class Trip(BaseModel):
    title: str
    stops: list[Stop] = Field(description="The stops in travel order")


# What the offline fake answers. Its first reply lacks two fields: parse() tells the model
# what was wrong and asks again (parse_retries=1 by default), and the second one is valid.
OFFLINE_REPLIES = (
    '{"name": "Paris"}',
    '{"name": "Paris", "population": 2102650, "country": "France"}',
    '{"title": "Italy by rail", "stops": [{"city": "Milan", "nights": 2}, '
    '{"city": "Florence", "nights": 3}, {"city": "Rome", "nights": 3}]}',
)


async def main() -> None:
    banner("Structured output")
    async with chat_client(*OFFLINE_REPLIES) as client:
        response = await client.parse(
            messages=[{"role": "user", "content": "Tell me about Paris"}],
            response_format=CityInfo,
        )
        city = response.choices[0].message.parsed
        assert city is not None
        print(f"{city.name}, {city.country} - Population: {city.population:,}")
        if response.usage is not None:
            print(f"usage of every attempt: {response.usage.total_tokens} tokens")

        # Nested models and lists work the same; response.parsed is the shorthand.
        trip = await client.parse(
            [{"role": "user", "content": "Plan a three-stop rail trip through Italy."}], Trip
        )
        assert trip.parsed is not None
        print(
            trip.parsed.title, "->", ", ".join(f"{s.city} ({s.nights})" for s in trip.parsed.stops)
        )

    # When the model never produces valid output, the error carries its raw reply
    # (shown offline only: the fake is scripted to fail twice, a real model would not).
    if not online():
        async with chat_client("not JSON", "still not JSON") as client:
            try:
                await client.parse([{"role": "user", "content": "Tell me about Rome"}], CityInfo)
            except StructuredOutputError as exc:
                print(f"StructuredOutputError after {exc.attempts} attempts: {exc.raw_output!r}")


if __name__ == "__main__":
    run(main)
