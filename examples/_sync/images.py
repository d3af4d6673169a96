# This file is generated from examples/_async/images.py by codegen/generate.py.
# Do not edit it: change the async source and run `python codegen/generate.py`.
"""Images: generate, save, edit, and what happens on bad arguments and remote failures.

Offline (no OPENAI_API_KEY) a canned Images API answers with a small PNG.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from _setup import banner, image_client, run

from mbxai import ConfigurationError


def main() -> None:
    banner("Images", images=True)
    with image_client() as images:
        response = images.generate(
            prompt="A futuristic cityscape with flying cars at sunset",
            size="1024x1024",
            quality="hd",  # dall-e-3's word; gpt-image-1 gets "high"
            model="gpt-image-1",
        )
        if not response.success:
            print(f"generation failed: {response.error}")
            return
        assert response.image_url is not None
        print(f"generated: {response.image_url[:40]}... ({response.quality}, {response.size})")
        if response.usage is not None:
            print(f"usage: {response.usage.total_tokens} tokens")

        # gpt-image models answer with base64: the bytes are one call away.
        data = response.images[0].to_bytes()
        assert data is not None
        with tempfile.TemporaryDirectory() as folder:
            picture = Path(folder) / "city.png"
            picture.write_bytes(data)
            print(f"saved {len(data)} bytes as {picture.name}")

            # Inputs may be file paths, bytes, base64, data URLs or http(s) URLs.
            edited = images.edit(
                prompt="Add a rainbow in the sky", images=[picture], size="1024x1024"
            )
        print("edited:", "ok" if edited.success else edited.error)

        # Wrong arguments raise before anything is sent ...
        try:
            images.generate("Two cats", model="dall-e-3", n=2)
        except ConfigurationError as exc:
            print(f"ConfigurationError: {exc}")
        # ... while remote failures come back as success=False with the reason.


if __name__ == "__main__":
    run(main)
