"""The cloud relay: device enrollment, document sync, storage backends and the owner API."""
