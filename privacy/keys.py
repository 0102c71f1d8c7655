"""The keyring: every secret of uptake, in files outside the repository and the database.

Layout: `$UPTAKE_HOME/keys/<name>.key`, one secret per file, each encrypted at rest with AES-GCM under a
key-encryption key (KEK) derived from the master secret; the key name is the associated data, so two key
files cannot be swapped. The master secret comes from the environment (`UPTAKE_MASTER_KEY`) or from a file
(`UPTAKE_MASTER_KEY_FILE`, by default `$UPTAKE_HOME/master.key`, created with mode 0600 at first use; a
file readable by others is refused).

Pseudonymisation keys are derived with HKDF-SHA-256 from one random root per territory, with the purpose
(finalité) in the HKDF `info`: HKDF outputs for different `info` values are independent pseudo-random
keys, so two purposes give unlinkable pseudonyms, while the Caf has only one secret per territory to
protect, back up and rotate. Another territory (another partner) has its own random root, never derived
from ours, so partners cannot link their pseudonyms even if one of them leaks its root.

Other secrets are plain random 256-bit keys: the contact vault key (per territory), the per-batch keys of
personal outputs (destroyed at purge: crypto-shredding) and the Ed25519 signing key of DPO decisions and
audit checkpoints.

The data keys (vault keys, pseudonym roots, signing key) are checked against the fingerprint the database
recorded at their first use (`FingerprintBook`, kept by `privacy.keyuse`): a key file replaced by another
one that opens under the same master secret (a keys folder restored from another installation, or from
another date) is refused at its load, before anything is read or written with it.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets
import stat
from collections.abc import Mapping
from pathlib import Path
from typing import Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from privacy.errors import KeyringError

MASTER_ENV = "UPTAKE_MASTER_KEY"
MASTER_FILE_ENV = "UPTAKE_MASTER_KEY_FILE"
MIN_MASTER_CHARS = 32
SIGNING_KEY = "signature-ed25519"
_MAGIC = b"UPK1"
_NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,120}$")
_KEK_SALT = b"uptake/keyring/v1"
_VAULT_PREFIX, _ROOT_PREFIX = "coffre-", "pseudonymes-"
# A rotation's new root, until the database switched to it (`privacy.rotation`).
ROTATION_SUFFIX = "-suivante"
# What a fingerprint is the HMAC of, under the key: a fixed label, so that it reveals nothing of the key
# and matches no pseudonym (those are HMACs under keys derived from the root, never under the root).
_FINGERPRINT_LABEL = b"uptake/empreinte-de-cle/v1"


def _hkdf(secret: bytes, info: str, salt: bytes | None = None) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=salt, info=info.encode()).derive(secret)


def territory_slug(territory: str) -> str:
    """A territory id usable in key names (`240400440`, `national`...)."""
    slug = re.sub(r"[^a-z0-9]+", "-", territory.lower()).strip("-")
    if not slug:
        raise KeyringError("territoire", "identifiant de territoire vide", "donnez le SIREN de l'EPCI")
    return slug[:60]


def pseudonym_root_name(territory: str) -> str:
    """Name of the random root from which a territory's pseudonymisation keys are derived."""
    return f"pseudonymes-{territory_slug(territory)}"


def vault_key_name(territory: str) -> str:
    """Name of the territory's vault key in the keyring."""
    return f"coffre-{territory_slug(territory)}"


def fingerprint(public_key: Ed25519PublicKey) -> str:
    """A short, stable id of a public key (first 16 hex digits of the SHA-256 of its raw bytes)."""
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def is_data_key(name: str) -> bool:
    """Whether the database records the fingerprint of the key `name`: the signing key, the vault keys
    and the pseudonym roots (not a rotation's pending root, nor the per-batch keys of outputs)."""
    if name.endswith(ROTATION_SUFFIX):
        return False
    return name == SIGNING_KEY or name.startswith((_VAULT_PREFIX, _ROOT_PREFIX))


def key_fingerprint(name: str, secret: bytes) -> str:
    """The fingerprint the database records of the key `name` (16 hex digits, never the key): for the
    signing key, its public key's `fingerprint`, the one the DPO notes; for the others, an HMAC-SHA-256
    of a fixed label under the key."""
    if name == SIGNING_KEY:
        return fingerprint(Ed25519PrivateKey.from_private_bytes(secret).public_key())
    return hmac.new(secret, _FINGERPRINT_LABEL, hashlib.sha256).hexdigest()[:16]


def _what_a_wrong_key_breaks(name: str) -> str:
    if name == SIGNING_KEY:
        return (
            "les points de contrôle du journal d'audit et les décisions du DPO seraient signés par une clé "
            "que la clé publique notée par le DPO ne connaît pas"
        )
    if name.startswith(_VAULT_PREFIX):
        return "le coffre des contacts ne se déchiffrerait plus"
    return (
        "les pseudonymes calculés avec elle ne correspondraient plus à ceux de la base (extraits, coffre, "
        "oppositions, demandes des personnes)"
    )


class FingerprintBook(Protocol):
    """Where a keyring finds the fingerprints its database recorded, and notes those it meets."""

    def recorded(self, name: str) -> str | None:
        """The fingerprint recorded for the key `name`, None when none is yet."""
        ...

    def met(self, name: str, fingerprint: str, replaces: str | None) -> None:
        """Note the fingerprint of a key without a record (`replaces` None), or of a key generated in
        place of a lost one nothing depended on (`replaces`: the lost key's fingerprint)."""
        ...


class Keyring:
    """The key files of one data folder, opened with the master secret."""

    def __init__(self, keys_dir: Path, master_secret: bytes) -> None:
        """Open `keys_dir` with a master secret (use `open_keyring` to resolve it from the environment)."""
        self.keys_dir = keys_dir
        self._kek = AESGCM(_hkdf(master_secret, "kek", salt=_KEK_SALT))
        # Keys the data folder's database already depends on (name → what), never generated again:
        # set by `privacy.keyuse.require_keys`. With the database out of reach, no key is generated
        # at all (`blind`, why): nothing can tell a first use from a lost file.
        self.required: dict[str, str] = {}
        self.blind: str | None = None
        # The database's fingerprints of the data keys (set with `required`); None: not checked.
        self.book: FingerprintBook | None = None

    def path(self, name: str) -> Path:
        """Where the key `name` is (or would be) stored."""
        if not _NAME.match(name):
            raise KeyringError(f"clé « {name} »", "nom de clé invalide", "utilisez [a-z0-9_.-]")
        return self.keys_dir / f"{name}.key"

    def has(self, name: str) -> bool:
        """Whether the key `name` exists."""
        return self.path(name).exists()

    def _write_tmp(self, name: str, secret: bytes) -> Path:
        self.keys_dir.mkdir(parents=True, exist_ok=True)
        os.chmod(self.keys_dir, 0o700)
        nonce = secrets.token_bytes(12)
        blob = _MAGIC + nonce + self._kek.encrypt(nonce, secret, name.encode())
        tmp = self.keys_dir / f".{name}.{secrets.token_hex(6)}.tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(blob)
            handle.flush()
            os.fsync(handle.fileno())
        return tmp

    def store(self, name: str, secret: bytes) -> None:
        """Encrypt and write `secret` as the key `name` (mode 0600), replacing any previous one."""
        path = self.path(name)
        os.replace(self._write_tmp(name, secret), path)

    def load(self, name: str) -> bytes:
        """Decrypt the key `name`; `KeyringError` if it is missing, the master secret is wrong, or it is
        not the data key whose fingerprint the database recorded."""
        return self._checked(name, self._decrypted(name), created=False)

    def _checked(self, name: str, secret: bytes, *, created: bool) -> bytes:
        if self.book is None or not is_data_key(name):
            return secret
        found = key_fingerprint(name, secret)
        expected = self.book.recorded(name)
        if expected is None or created:
            if expected != found:
                self.book.met(name, found, expected)
            return secret
        if found != expected:
            finished = self._finish_rotation(name, expected)
            if finished is None:
                raise self._replaced(name, found, expected)
            return finished
        return secret

    def refusal(self, name: str, expected: str) -> KeyringError | None:
        """The error a load of the data key `name` would raise if the database recorded `expected`,
        None when it would load (read only: an interrupted rotation is left for the load to finish)."""
        found = key_fingerprint(name, self._decrypted(name))
        if found == expected or self._pending_root(name, expected) is not None:
            return None
        return self._replaced(name, found, expected)

    def _pending_root(self, name: str, expected: str) -> bytes | None:
        try:
            secret = self._decrypted(f"{name}{ROTATION_SUFFIX}")
        except KeyringError:
            return None
        return secret if key_fingerprint(name, secret) == expected else None

    def _finish_rotation(self, name: str, expected: str) -> bytes | None:
        """The pending root of a rotation the database already switched to (its fingerprint is the one
        recorded), made the root: the rotation was interrupted between its commit and `promote`."""
        secret = self._pending_root(name, expected)
        if secret is not None:
            self.store(name, secret)
            self.destroy(f"{name}{ROTATION_SUFFIX}")
        return secret

    def _replaced(self, name: str, found: str, expected: str) -> KeyringError:
        return KeyringError(
            str(self.path(name)),
            f"clé remplacée : ce fichier contient une autre clé (empreinte {found}) que celle que la base a "
            f"notée à sa première utilisation (empreinte {expected}) ; utilisée, "
            f"{_what_a_wrong_key_breaks(name)}",
            f"restaurez le dossier {self.keys_dir} qui va avec cette base (la sauvegarde de la même "
            "installation, faite en même temps que celle de la base), avec sa clé maîtresse ; rien n'a été "
            "lu ni écrit avec cette clé",
        )

    def _decrypted(self, name: str) -> bytes:
        path = self.path(name)
        try:
            blob = path.read_bytes()
        except FileNotFoundError:
            raise KeyringError(
                str(path),
                "clé absente (détruite ou jamais créée)",
                "les données qu'elle protégeait sont perdues",
            ) from None
        if not blob.startswith(_MAGIC) or len(blob) < len(_MAGIC) + 12 + 16:
            raise KeyringError(str(path), "fichier de clé illisible", "restaurez-le depuis la sauvegarde")
        nonce, ciphertext = blob[4:16], blob[16:]
        try:
            return self._kek.decrypt(nonce, ciphertext, name.encode())
        except InvalidTag:
            raise KeyringError(
                str(path),
                "déchiffrement impossible : clé maîtresse incorrecte ou fichier altéré",
                f"vérifiez {MASTER_ENV} ou le fichier de clé maîtresse",
            ) from None

    def secret(self, name: str) -> bytes:
        """The 256-bit key `name`, generated at first use.

        Creation is atomic and never replaces an existing key: when two processes generate it at the
        same time, one wins and both use its key (a replaced key would orphan what it encrypted). A
        key the database depends on (`required`) is never generated: its file was lost, and a new key
        would silently make the vault unreadable, or every pseudonym typed for a person match nothing.
        """
        path = self.path(name)
        if not path.exists() and self.blind is not None:
            raise KeyringError(
                str(path),
                f"clé absente, et la base de données ne peut pas dire si elle a déjà servi ({self.blind})",
                "rétablissez l'accès à la base (uptake check), puis relancez : une clé perdue ne doit "
                "pas être remplacée sans qu'on le sache",
            )
        if not path.exists() and name in self.required:
            raise KeyringError(
                str(path),
                f"clé absente, alors que {self.required[name]} en dépend",
                f"restaurez le dossier {self.keys_dir} depuis la sauvegarde, avec la même clé maîtresse ; "
                "une nouvelle clé ne lirait rien de ce qui existe",
            )
        created = False
        if not path.exists():
            tmp = self._write_tmp(name, secrets.token_bytes(32))
            try:
                os.link(tmp, path)
                created = True
            except FileExistsError:
                pass
            finally:
                tmp.unlink()
        # A key generated here is the database's from now on (the lost one it replaces was not required).
        return self._checked(name, self._decrypted(name), created=created)

    def destroy(self, name: str) -> bool:
        """Overwrite then delete the key file `name`; True if it existed."""
        path = self.path(name)
        try:  # another process may be destroying it too (a rotation finished by two at once)
            with path.open("r+b") as handle:
                handle.write(secrets.token_bytes(path.stat().st_size))
                handle.flush()
                os.fsync(handle.fileno())
            path.unlink()
        except FileNotFoundError:
            return False
        return True

    def pseudonym_key(self, territory: str, finalite: str) -> bytes:
        """The pseudonymisation key of one territory and one purpose (HKDF from the territory's root)."""
        root = self.secret(pseudonym_root_name(territory))
        return derive_pseudonym_key(root, finalite)

    def signing_key(self) -> Ed25519PrivateKey:
        """The Ed25519 key that signs DPO decisions and audit checkpoints (generated at first use)."""
        return Ed25519PrivateKey.from_private_bytes(self.secret(SIGNING_KEY))

    def public_key(self) -> Ed25519PublicKey:
        """The public half of the signing key, used to verify decisions and checkpoints."""
        return self.signing_key().public_key()


def public_key_pem(public_key: Ed25519PublicKey) -> bytes:
    """The public key as PEM, for the DPO to keep and verify with elsewhere."""
    return public_key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def load_public_key_pem(data: bytes) -> Ed25519PublicKey:
    """An Ed25519 public key from PEM; `KeyringError` if it is something else."""
    try:
        key = serialization.load_pem_public_key(data)
    except ValueError:
        key = None
    if not isinstance(key, Ed25519PublicKey):
        raise KeyringError(
            "clé publique",
            "fichier PEM illisible ou clé non Ed25519",
            "exportez la clé du DPO avec `uptake keys show --exporter-cle-publique dpo.pem`",
        )
    return key


def derive_pseudonym_key(root: bytes, finalite: str) -> bytes:
    """HKDF-SHA-256 of a territory root, domain-separated by the purpose."""
    name = finalite.strip().lower()
    if not name:
        raise KeyringError("finalité", "finalité vide", "donnez un nom de finalité (par exemple `droits`)")
    return _hkdf(root, f"uptake/pseudonyme/v1/{name}")


def stored_keys(keys_dir: Path) -> list[str]:
    """The names of the key files in `keys_dir`, sorted (none when the folder does not exist)."""
    return sorted(path.stem for path in keys_dir.glob("*.key")) if keys_dir.is_dir() else []


def _no_orphan_keys(path: Path, keys_dir: Path) -> None:
    """Refuse a master secret to be created while `keys_dir` holds keys: another secret encrypted them
    (the master file lost, or the folder restored without it), and a new one would open none."""
    stored = stored_keys(keys_dir)
    if stored:
        raise KeyringError(
            str(path),
            f"clé maîtresse absente, alors que {keys_dir} contient des clés qu'elle chiffre "
            f"({', '.join(stored)})",
            f"restaurez-la depuis la sauvegarde (ou donnez-la par {MASTER_ENV}) ; uptake n'en crée pas "
            "une nouvelle : elle n'ouvrirait aucune de ces clés",
        )


def _master_from_file(path: Path, keys_dir: Path) -> bytes:
    if not path.exists():
        _no_orphan_keys(path, keys_dir)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_urlsafe(48) + "\n")
        try:  # atomic create-if-absent: a concurrent first use keeps one single master secret
            os.link(tmp, path)
        except FileExistsError:
            pass
        finally:
            tmp.unlink()
    return _read_master(path)


def _read_master(path: Path) -> bytes:
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        raise KeyringError(
            str(path),
            f"permissions trop larges ({oct(mode)}) pour la clé maîtresse",
            f"restreignez-les au seul propriétaire : chmod 600 {path}",
        )
    secret = path.read_text(encoding="utf-8").strip()
    if len(secret) < MIN_MASTER_CHARS:
        raise KeyringError(str(path), "clé maîtresse trop courte", f"au moins {MIN_MASTER_CHARS} caractères")
    return secret.encode()


def open_keyring(keys_dir: Path, master_file: Path, environ: Mapping[str, str] | None = None) -> Keyring:
    """Open the keyring; master secret: `UPTAKE_MASTER_KEY`, else `UPTAKE_MASTER_KEY_FILE` or `master_file`.

    The file is created (0600) at first use; a file readable by group or others is refused.
    """
    env = os.environ if environ is None else environ
    from_env = env.get(MASTER_ENV)
    if from_env:
        return Keyring(keys_dir, _checked_env_master(from_env))
    return Keyring(keys_dir, _master_from_file(_master_path(master_file, env), keys_dir))


def master_source(master_file: Path, keys_dir: Path, environ: Mapping[str, str] | None = None) -> str:
    """Where the master secret comes from, checked as `open_keyring` checks it but without creating
    it (French); `KeyringError` when it is unusable."""
    env = os.environ if environ is None else environ
    from_env = env.get(MASTER_ENV)
    if from_env:
        _checked_env_master(from_env)
        return f"variable {MASTER_ENV}"
    path = _master_path(master_file, env)
    if not path.exists():
        _no_orphan_keys(path, keys_dir)
        return f"{path} (créée au premier usage)"
    _read_master(path)
    return str(path)


def _master_path(master_file: Path, env: Mapping[str, str]) -> Path:
    return Path(env[MASTER_FILE_ENV]) if env.get(MASTER_FILE_ENV) else master_file


def _checked_env_master(value: str) -> bytes:
    if len(value) < MIN_MASTER_CHARS:
        raise KeyringError(
            MASTER_ENV,
            "clé maîtresse trop courte",
            f"donnez un secret aléatoire d'au moins {MIN_MASTER_CHARS} caractères "
            '(par exemple : python -c "import secrets; print(secrets.token_urlsafe(48))")',
        )
    return value.encode()
