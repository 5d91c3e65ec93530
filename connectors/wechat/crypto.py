"""Safe-mode message encryption: AES-256-CBC with WeChat's framing.

The key is ``base64(EncodingAESKey + "=")`` (32 bytes) and the IV its first 16 bytes.
The plaintext is ``16 random bytes | 4-byte big-endian length | message | AppID``, padded
with PKCS#7 to a multiple of 32 bytes (WeChat's block size for padding, not AES's). The
AppID at the end is checked on every decryption: a message encrypted for another account
with the same key is refused.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import os
import struct

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

PAD_BLOCK = 32
_AES_BLOCK = 16


class CryptoError(ValueError):
    """The ciphertext is not a valid safe-mode message for this account."""


def aes_key(encoding_aes_key: str) -> bytes:
    """The AES key from the 43-character EncodingAESKey of the account's settings."""
    try:
        key = base64.b64decode(encoding_aes_key + "=", validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError("WECHAT_ENCODING_AES_KEY is not valid base64") from exc
    if len(encoding_aes_key) != 43 or len(key) != 32:
        raise ValueError("WECHAT_ENCODING_AES_KEY must be 43 characters (a 32-byte key)")
    return key


def pkcs7_pad(data: bytes, block: int = PAD_BLOCK) -> bytes:
    amount = block - len(data) % block
    return data + bytes([amount]) * amount


def pkcs7_unpad(data: bytes, block: int = PAD_BLOCK) -> bytes:
    if not data:
        raise CryptoError("empty plaintext")
    amount = data[-1]
    if not 1 <= amount <= block or amount > len(data) or data[-amount:] != bytes([amount]) * amount:
        raise CryptoError("bad padding")
    return data[:-amount]


class WeChatCipher:
    def __init__(self, encoding_aes_key: str, app_id: str) -> None:
        self.key = aes_key(encoding_aes_key)
        self.app_id = app_id

    def _cipher(self) -> Cipher[modes.CBC]:
        return Cipher(algorithms.AES(self.key), modes.CBC(self.key[:_AES_BLOCK]))

    def encrypt(self, message: str) -> str:
        body = message.encode("utf-8")
        framed = os.urandom(16) + struct.pack(">I", len(body)) + body + self.app_id.encode()
        encryptor = self._cipher().encryptor()
        sealed = encryptor.update(pkcs7_pad(framed)) + encryptor.finalize()
        return base64.b64encode(sealed).decode("ascii")

    def decrypt(self, encrypted: str) -> str:
        try:
            sealed = base64.b64decode(encrypted.strip(), validate=True)
        except (binascii.Error, ValueError) as exc:
            raise CryptoError("ciphertext is not base64") from exc
        if not sealed or len(sealed) % _AES_BLOCK:
            raise CryptoError("ciphertext length is not a multiple of the AES block")
        decryptor = self._cipher().decryptor()
        framed = pkcs7_unpad(decryptor.update(sealed) + decryptor.finalize())
        if len(framed) < 20:
            raise CryptoError("plaintext too short")
        (length,) = struct.unpack(">I", framed[16:20])
        body, app_id = framed[20 : 20 + length], framed[20 + length :]
        if len(body) != length:
            raise CryptoError("declared length exceeds the plaintext")
        if not hmac.compare_digest(app_id, self.app_id.encode()):
            raise CryptoError("message was encrypted for another AppID")
        try:
            return body.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise CryptoError("message is not UTF-8") from exc
