"""AES in CFB-128 mode, the cipher of SNMPv3 privacy (RFC 3826), from OpenSSL's libcrypto.

Why not python3-cryptography: on Debian 12 (cryptography 38) its first encryption costs ~45 ms
(loading its OpenSSL backend), most of a Nagios plugin run. libcrypto is already in the process
(Python's hashlib is built on it), so asking it directly through ctypes costs ~3 ms, and the
package needs no other library (docs/BENCHMARKS.md, "SNMPv3"). Loaded on first use.
"""

from __future__ import annotations

import _hashlib  # noqa: F401 - maps the libcrypto that hashlib was built with into this process
import ctypes
import functools

__all__ = ["KEY_SIZES", "CipherError", "aes_cfb"]

# key size in octets: libcrypto's cipher of that size in CFB-128
KEY_SIZES = {16: "EVP_aes_128_cfb128", 24: "EVP_aes_192_cfb128", 32: "EVP_aes_256_cfb128"}
IV_SIZE = 16
SONAME = "libcrypto.so.3"  # OpenSSL 3: Debian 12 and 13


class CipherError(Exception):
    """AES is not to be had here, or libcrypto refused the operation."""


def _mapped_libcrypto() -> str | None:
    """The path of the libcrypto hashlib loaded: the same library, whatever its version suffix."""
    try:
        with open("/proc/self/maps", encoding="utf-8", errors="replace") as maps:
            for line in maps:
                fields = line.split(None, 5)  # address perms offset dev inode [path]
                if len(fields) == 6 and "/libcrypto.so" in fields[5]:
                    return fields[5].strip()
    except OSError:
        pass
    return None


@functools.cache  # two threads racing here both set the same prototypes on the same library
def _load() -> ctypes.CDLL:
    name = _mapped_libcrypto() or SONAME
    try:
        lib = ctypes.CDLL(name)
    except OSError as err:
        raise CipherError(f"SNMPv3 privacy needs OpenSSL's {SONAME}: {err}") from None
    pointer, text, size = ctypes.c_void_p, ctypes.c_char_p, ctypes.POINTER(ctypes.c_int)
    prototypes = {
        "EVP_CIPHER_CTX_new": (pointer, []),
        "EVP_CIPHER_CTX_free": (None, [pointer]),
        "EVP_CipherInit_ex": (ctypes.c_int, [pointer, pointer, pointer, text, text, ctypes.c_int]),
        "EVP_CipherUpdate": (ctypes.c_int, [pointer, text, size, text, ctypes.c_int]),
        "EVP_CipherFinal_ex": (ctypes.c_int, [pointer, pointer, size]),
        **{function: (pointer, []) for function in KEY_SIZES.values()},
    }
    for function, (result, arguments) in prototypes.items():
        getattr(lib, function).restype = result
        getattr(lib, function).argtypes = arguments
    return lib


def aes_cfb(key: bytes, iv: bytes, data: bytes, *, encrypt: bool) -> bytes:
    """``data`` encrypted (or decrypted) with AES-CFB128: as long as ``data``, no padding."""
    if len(key) not in KEY_SIZES:
        raise CipherError(f"an AES key has 16, 24 or 32 octets, not {len(key)}")
    if len(iv) != IV_SIZE:
        raise CipherError(f"an AES-CFB IV has {IV_SIZE} octets, not {len(iv)}")
    lib = _load()
    context = lib.EVP_CIPHER_CTX_new()
    if not context:
        raise CipherError("libcrypto: no cipher context (out of memory?)")
    try:
        cipher = getattr(lib, KEY_SIZES[len(key)])()
        out = ctypes.create_string_buffer(len(data) + IV_SIZE)
        written, last = ctypes.c_int(0), ctypes.c_int(0)
        if not (
            lib.EVP_CipherInit_ex(context, cipher, None, key, iv, 1 if encrypt else 0)
            and lib.EVP_CipherUpdate(context, out, ctypes.byref(written), data, len(data))
            and lib.EVP_CipherFinal_ex(context, ctypes.addressof(out) + written.value, ctypes.byref(last))
        ):
            raise CipherError("libcrypto refused AES-CFB")
        return out.raw[: written.value + last.value]
    finally:
        lib.EVP_CIPHER_CTX_free(context)
