"""A Telegram Bot API stand-in server for end-to-end tests and benchmarks, on ``aiohttp.web``.

``BotApiStandIn`` serves the Bot API methods careerbot calls (getMe, getUpdates, deleteWebhook,
setWebhook, setMyCommands, sendMessage, sendDocument, sendPhoto, answerCallbackQuery) well
enough for a real python-telegram-bot ``Application`` to poll it and talk to it::

    async with BotApiStandIn() as api:
        app = Application.builder().token(api.token).base_url(api.base_url).build()
        ...
        api.text_message(42, "/start")
        call = await api.wait_for(lambda c: c.method == "sendMessage" and c.chat_id == 42)

Parameters come as python-telegram-bot 22 sends them (``application/x-www-form-urlencoded``,
strings as they are and everything else JSON-encoded; ``multipart/form-data`` when a file goes
along), or as a JSON body or query string. Every call is recorded in ``api.sent`` as a ``Call``.
Other methods answer 404, unless a test serves one with ``set_handler``.

With ``strict=True`` (the default) the stand-in checks what Telegram checks and answers 400 as
Telegram does: HTML that Telegram cannot parse (``parse_mode=HTML``), empty texts, texts over 4096
and captions over 1024 UTF-16 units, callback data over 64 bytes, answering an unknown or already
answered callback query, invalid bot commands, photos that are not PNG or JPEG within Telegram's
size, side and ratio limits, and photo file_ids it never handed out.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import html
import inspect
import itertools
import json
import re
import time
import zlib
from collections import Counter, deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any

from aiohttp import web

__all__ = [
    "DEFAULT_TOKEN",
    "BotApiError",
    "BotApiStandIn",
    "Call",
    "HtmlError",
    "UploadedFile",
    "parse_html",
    "utf16_len",
]

DEFAULT_TOKEN = "123456:" + "A" * 35

MAX_TEXT = 4096
MAX_CAPTION = 1024
MAX_CALLBACK_DATA = 64
MAX_CALLBACK_ANSWER = 200
MAX_PHOTO_BYTES = 10 * 1024 * 1024  # sendPhoto: at most 10 MB, width + height <= 10000,
MAX_PHOTO_SIDES = 10_000  # and a ratio of at most 20
MAX_PHOTO_RATIO = 20
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

SEND_METHODS = frozenset({"sendMessage", "editMessageText", "sendDocument"})
QUERY_TOO_OLD = "Bad Request: query is too old and response timeout expired or query ID is invalid"
GET_UPDATES_CONFLICT = (
    "Conflict: terminated by other getUpdates request; make sure that only one bot instance is "
    "running"
)
WEBHOOK_CONFLICT = (
    "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete "
    "the webhook first"
)
# Telegram's default when allowed_updates is an empty list: everything but these.
NOT_BY_DEFAULT = frozenset({"chat_member", "message_reaction", "message_reaction_count"})
# Form fields that are free text: never JSON-decoded, so a text of "42" stays "42".
STRING_FIELDS = frozenset(
    {
        "text",
        "caption",
        "parse_mode",
        "data",
        "callback_query_id",
        "inline_message_id",
        "url",
        "secret_token",
        "ip_address",
        "language_code",
        "description",
        "short_description",
        "name",
        "title",
        "action",
        "emoji",
        "query",
        "business_connection_id",
        "message_effect_id",
        "certificate",
    }
)
_PATH = re.compile(r"^/bot([^/]*)/([A-Za-z0-9_]+)/?$")
_COMMAND = re.compile(r"^[a-z0-9_]{1,32}$")
_AUTO_ENTITY = re.compile(
    r"(?P<bot_command>(?<![\w/])/[A-Za-z0-9_]{1,32}(?:@[A-Za-z0-9_]{3,32})?(?![\w@]))"
    r"|(?P<mention>(?<![\w@/])@[A-Za-z0-9_]{3,32}(?!\w))"
)


def utf16_len(text: str) -> int:
    """Length in UTF-16 code units: the unit of Telegram's entity offsets and length limits."""
    return len(text.encode("utf-16-le")) // 2


# --- HTML as Telegram parses it -----------------------------------------------------------------


class HtmlError(ValueError):
    """HTML that Telegram refuses ("Bad Request: can't parse entities: ...")."""


_TAG_ENTITY: dict[str, str] = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
    "span": "spoiler",
    "a": "text_link",
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
    "tg-emoji": "custom_emoji",
}
_NAMED_REFS = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_START_TAG = re.compile(r"<([A-Za-z][A-Za-z0-9-]*)")
_ATTRIBUTE = re.compile(
    r"""([A-Za-z_][A-Za-z0-9_:.-]*)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+)))?"""
)
_CHAR_REF = re.compile(r"&(#[0-9]{1,7}|#[xX][0-9A-Fa-f]{1,6}|[A-Za-z][A-Za-z0-9]{0,31});")


def parse_html(source: str) -> tuple[str, list[dict[str, Any]]]:
    """Telegram's ``parse_mode=HTML``: the plain text and its entities (UTF-16 offsets).

    Raises ``HtmlError`` for what Telegram rejects: unsupported tags (``<br>``, ``<p>``, ...), a
    bare ``<``, unclosed or mismatched tags, ``<span>`` without ``class="tg-spoiler"``.
    """
    out: list[str] = []
    units = 0
    stack: list[tuple[str, str | None, int, dict[str, Any]]] = []
    entities: list[dict[str, Any]] = []
    i, n = 0, len(source)

    def at(pos: int) -> str:
        return f"at byte offset {len(source[:pos].encode())}"

    while i < n:
        char = source[i]
        if char == "<" and source.startswith("</", i):
            end = source.find(">", i)
            if end < 0:
                raise HtmlError(f"Unclosed end tag {at(i)}")
            name = source[i + 2 : end].strip().lower()
            if not stack:
                raise HtmlError(f'Unexpected end tag "</{name}>" {at(i)}')
            tag, kind, start, extra = stack.pop()
            if name != tag:
                raise HtmlError(
                    f'Unmatched end tag {at(i)}, expected "</{tag}>", found "</{name}>"'
                )
            if kind is not None and units > start:
                entities.append({"type": kind, "offset": start, "length": units - start, **extra})
            i = end + 1
            continue
        if char == "<":
            match = _START_TAG.match(source, i)
            if match is None:
                raise HtmlError(f'Unsupported start tag "" {at(i)}')
            name = match.group(1).lower()
            if name not in _TAG_ENTITY:
                raise HtmlError(f'Unsupported start tag "{name}" {at(i)}')
            attrs: dict[str, str] = {}
            j = match.end()
            while True:
                while j < n and source[j].isspace():
                    j += 1
                if j < n and source[j] == ">":
                    j += 1
                    break
                attr = _ATTRIBUTE.match(source, j)
                if attr is None:
                    raise HtmlError(f'Unclosed start tag "{name}" {at(i)}')
                value = next((g for g in attr.group(2, 3, 4) if g is not None), "")
                attrs[attr.group(1).lower()] = html.unescape(value)
                j = attr.end()
            kind: str | None = _TAG_ENTITY[name]
            extra: dict[str, Any] = {}
            if name == "span" and attrs.get("class") != "tg-spoiler":
                raise HtmlError(f'Tag "span" must have class "tg-spoiler" {at(i)}')
            if name == "a":
                extra = {"url": attrs.get("href", "")}
                kind = "text_link" if extra["url"] else None
            elif name == "blockquote" and "expandable" in attrs:
                kind = "expandable_blockquote"
            elif name == "tg-emoji":
                extra = {"custom_emoji_id": attrs.get("emoji-id", "")}
            elif name == "code" and stack and stack[-1][0] == "pre":
                language = attrs.get("class", "")
                if language.startswith("language-"):
                    stack[-1][3]["language"] = language.removeprefix("language-")
                kind = None
            stack.append((name, kind, units, extra))
            i = j
            continue
        if char == "&":
            ref = _CHAR_REF.match(source, i)
            decoded: str | None = None
            if ref is not None:
                body = ref.group(1)
                if body.startswith(("#x", "#X")):
                    decoded = _codepoint(int(body[2:], 16))
                elif body.startswith("#"):
                    decoded = _codepoint(int(body[1:]))
                else:
                    decoded = _NAMED_REFS.get(body)
            if ref is not None and decoded is not None:
                out.append(decoded)
                units += utf16_len(decoded)
                i = ref.end()
                continue
        j = i + 1
        while j < n and source[j] not in "<&":
            j += 1
        out.append(source[i:j])
        units += utf16_len(source[i:j])
        i = j
    if stack:
        raise HtmlError(f'Can\'t find end tag corresponding to start tag "{stack[-1][0]}"')
    entities.sort(key=lambda e: (e["offset"], -e["length"]))
    return "".join(out), entities


def _codepoint(value: int) -> str | None:
    return chr(value) if 0 < value <= 0x10FFFF else None


def auto_entities(text: str) -> list[dict[str, Any]]:
    """The entities Telegram adds to a user's text: /commands and @mentions."""
    found = []
    for match in _AUTO_ENTITY.finditer(text):
        kind = match.lastgroup or "mention"
        offset = utf16_len(text[: match.start()])
        found.append({"type": kind, "offset": offset, "length": utf16_len(match.group())})
    return found


# --- records ------------------------------------------------------------------------------------


@dataclass(eq=False)
class UploadedFile:
    """One file part of a multipart request."""

    field: str
    filename: str | None
    content_type: str | None
    data: bytes

    @property
    def size(self) -> int:
        return len(self.data)

    def __repr__(self) -> str:
        return f"UploadedFile({self.field!r}, {self.filename!r}, {self.size} bytes)"


def text_update(update_id: int, user: int, text: str) -> dict[str, Any]:
    """A private text message as Telegram posts it to a webhook (or returns it from getUpdates)."""
    return {
        "update_id": update_id,
        "message": {
            "message_id": update_id,
            "date": int(time.time()),
            "chat": {"id": user, "type": "private"},
            "from": {"id": user, "is_bot": False, "first_name": "Ann"},
            "text": text,
        },
    }


@dataclass(eq=False)
class Call:
    """One request the stand-in received (successful or not).

    ``params`` holds the decoded parameters (``reply_markup`` a dict, ``chat_id`` an int, uploaded
    files as ``UploadedFile``); ``time`` is ``time.monotonic()`` when the request was read;
    ``path`` the request target as sent (``/bot<token>/<method>?query``); ``result`` the ``result``
    of a successful answer; ``status``/``error`` the HTTP status and description of a failed one.
    """

    method: str
    params: dict[str, Any]
    path: str
    time: float
    http_method: str = "POST"
    files: dict[str, UploadedFile] = field(default_factory=dict)
    status: int = 200
    failed: bool = False
    result: Any = None
    error: str | None = None
    held: float = 0.0  # seconds its answer was held back (``delay``): a client may time out

    @property
    def ok(self) -> bool:
        return not self.failed

    @property
    def chat_id(self) -> Any:
        return self.params.get("chat_id")

    @property
    def text(self) -> str | None:
        """``text``, or ``caption`` for media."""
        value = self.params.get("text", self.params.get("caption"))
        return None if value is None else str(value)

    @property
    def reply_markup(self) -> dict[str, Any] | None:
        markup = self.params.get("reply_markup")
        return markup if isinstance(markup, dict) else None

    @property
    def buttons(self) -> list[dict[str, Any]]:
        """The inline keyboard's buttons, row after row."""
        markup = self.reply_markup or {}
        return [button for row in markup.get("inline_keyboard", []) for button in row]

    @property
    def document(self) -> UploadedFile | None:
        return self.files.get("document")

    @property
    def photo(self) -> UploadedFile | None:
        """The uploaded photo of a multipart sendPhoto (None when a file_id was sent)."""
        return self.files.get("photo")

    def __getitem__(self, key: str) -> Any:
        return getattr(self, key)

    def __repr__(self) -> str:
        state = f"failed {self.status}" if self.failed else "ok"
        shown = {k: v for k, v in self.params.items() if k != "reply_markup"}
        return f"<Call {self.method} {state} {shown!r}>"


class BotApiError(Exception):
    """Raise from a method handler to answer with a Telegram error."""

    def __init__(
        self, status: int, description: str | None = None, retry_after: int | None = None
    ) -> None:
        if status == HTTPStatus.TOO_MANY_REQUESTS and retry_after is None:
            retry_after = 1
        self.status = status
        self.retry_after = retry_after
        self.description = description or _default_description(status, retry_after)
        super().__init__(self.description)

    def body(self) -> dict[str, Any]:
        answer: dict[str, Any] = {
            "ok": False,
            "error_code": self.status,
            "description": self.description,
        }
        if self.retry_after is not None:
            answer["parameters"] = {"retry_after": self.retry_after}
        return answer


def _default_description(status: int, retry_after: int | None) -> str:
    known = {
        400: "Bad Request",
        401: "Unauthorized",
        403: "Forbidden: bot was blocked by the user",
        404: "Not Found",
        409: "Conflict",
        429: f"Too Many Requests: retry after {retry_after}",
        500: "Internal Server Error",
        502: "Bad Gateway",
        503: "Service Unavailable",
        504: "Gateway Timeout",
    }
    if status in known:
        return known[status]
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return f"Error {status}"


@dataclass
class _Fault:
    status: int
    description: str | None
    retry_after: int | None
    drop: bool = False


Handler = Callable[[Call], Any]


def _chat_key(chat_id: Any) -> Any:
    """Compare chat ids whether they came as ints or as strings."""
    if isinstance(chat_id, str):
        with contextlib.suppress(ValueError):
            return int(chat_id)
    return chat_id


def _decode(key: str, raw: str) -> Any:
    if key in STRING_FIELDS or raw.startswith("attach://"):
        return raw
    try:
        return json.loads(raw)
    except ValueError:
        return raw


class _State:
    """What the stand-in knows: the bot, users, chats, messages, queued updates, recorded calls."""

    def __init__(
        self,
        token: str = DEFAULT_TOKEN,
        *,
        bot_username: str = "CareerStandInBot",
        bot_first_name: str = "CareerBot",
        host: str = "127.0.0.1",
        port: int = 0,
        strict: bool = True,
    ) -> None:
        self.token = token
        head = token.split(":", 1)[0]
        self.bot_id = int(head) if head.isdigit() else 123456
        self.bot_username = bot_username
        self.bot_user: dict[str, Any] = {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": bot_first_name,
            "username": bot_username,
        }
        self.host = host
        self.port = port
        self.strict = strict

        self.sent: list[Call] = []
        self.stats: Counter[str] = Counter()
        self.connections = 0
        self.webhook: dict[str, Any] = {}
        self.command_sets: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self.updates_pushed: list[dict[str, Any]] = []
        self.delivered: set[int] = set()
        self.allowed_updates: list[str] | None = None
        self.last_callback_id: str | None = None

        self._queue: list[dict[str, Any]] = []
        self._update_ids = itertools.count(100_000_001)
        self._message_ids = itertools.count(1)
        self._callback_ids = itertools.count(7_000_000_001)
        self._file_ids = itertools.count(1)
        self.photo_ids: set[str] = set()  # file_ids handed out for photos (valid to resend)
        self._users: dict[int, dict[str, Any]] = {}
        self._chats: dict[Any, dict[str, Any]] = {}
        self._messages: dict[tuple[Any, int], dict[str, Any]] = {}
        self._open_callbacks: set[str] = set()
        self._faults: dict[str, deque[_Fault]] = {}
        self._delays: dict[str, list[float | int | None]] = {}
        self._blocked: set[Any] = set()
        self._poll_generation = 0
        self._changed = asyncio.Event()
        self._closing = False
        self._runner: web.AppRunner | None = None
        self._transports: set[int] = set()
        # every ``_m_<method>`` of the class, by method name (``set_handler`` replaces one)
        self._handlers: dict[str, Handler] = {
            name.removeprefix("_m_"): getattr(self, name)
            for name in dir(type(self))
            if name.startswith("_m_")
        }

    def _fire(self) -> None:
        event, self._changed = self._changed, asyncio.Event()
        event.set()

    @staticmethod
    def _scope_key(scope: Any, language_code: Any) -> tuple[str, str]:
        scope = scope or {"type": "default"}
        return json.dumps(scope, sort_keys=True), str(language_code or "")


class _Updates(_State):
    """What users do, as updates queued for the bot's getUpdates: messages, presses, media."""

    def define_user(
        self,
        user_id: int,
        first_name: str | None = None,
        *,
        last_name: str | None = None,
        username: str | None = None,
        language_code: str | None = "en",
    ) -> dict[str, Any]:
        """Set how a user appears in later updates (``from`` and private chats)."""
        user: dict[str, Any] = {
            "id": user_id,
            "is_bot": False,
            "first_name": first_name or f"User{user_id}",
        }
        if last_name:
            user["last_name"] = last_name
        if username:
            user["username"] = username
        if language_code:
            user["language_code"] = language_code
        self._users[user_id] = user
        return user

    def push_update(self, update: dict[str, Any]) -> int:
        """Queue a raw Update (``update_id`` assigned if missing); returns its update_id."""
        update = copy.deepcopy(update)
        if "update_id" not in update:
            update["update_id"] = next(self._update_ids)
        else:
            ahead = update["update_id"] + 1
            self._update_ids = itertools.count(max(ahead, next(self._update_ids)))
        self.updates_pushed.append(update)
        self._queue.append(update)
        self._fire()
        return int(update["update_id"])

    def text_message(
        self,
        user_id: int,
        text: str,
        chat_id: int | None = None,
        chat_type: str = "private",
        entities: list[dict[str, Any]] | None = None,
        message_id: int | None = None,
        *,
        reply_to_message_id: int | None = None,
    ) -> int:
        """A user's text message; /commands and @mentions get entities unless ``entities``."""
        message = self._user_message(user_id, chat_id, chat_type, message_id)
        message["text"] = text
        found = auto_entities(text) if entities is None else entities
        if found:
            message["entities"] = found
        if reply_to_message_id is not None:
            replied = self._messages.get((message["chat"]["id"], reply_to_message_id))
            if replied is not None:
                message["reply_to_message"] = copy.deepcopy(replied)
        return self._push_message(message)

    def group_message(
        self,
        user_id: int,
        group_id: int,
        text: str,
        mention_bot: bool = False,
        *,
        chat_type: str = "group",
    ) -> int:
        """A message in a group; ``mention_bot`` puts "@<bot username> " first (with its mention
        entity) unless the text already mentions the bot."""
        mention = f"@{self.bot_username}"
        if mention_bot and mention.lower() not in text.lower():
            text = f"{mention} {text}"
        return self.text_message(user_id, text, chat_id=group_id, chat_type=chat_type)

    def callback(
        self,
        user_id: int,
        data: str,
        message_id: int,
        chat_id: int | None = None,
    ) -> int:
        """A press of an inline button with ``data`` on message ``message_id``."""
        chat_key = user_id if chat_id is None else chat_id
        message = self._messages.get((chat_key, message_id))
        if message is None:
            message = {
                "message_id": message_id,
                "from": self.bot_user,
                "chat": self._chat_for(chat_key),
                "date": int(time.time()),
                "text": "...",
            }
            self._messages[(chat_key, message_id)] = message
            self._skip_message_ids(message_id)
        query_id = str(next(self._callback_ids))
        self._open_callbacks.add(query_id)
        self.last_callback_id = query_id
        query = {
            "id": query_id,
            "from": self._user(user_id),
            "chat_instance": str(zlib.crc32(f"{self.bot_id}:{chat_key}".encode())),
            "data": data,
            "message": copy.deepcopy(message),
        }
        return self.push_update({"callback_query": query})

    def edited_message(
        self,
        user_id: int,
        text: str,
        message_id: int | None = None,
        chat_id: int | None = None,
    ) -> int:
        """An edit of the user's last text message in the chat (or of ``message_id``)."""
        chat_key = user_id if chat_id is None else chat_id
        if message_id is None:
            mine = [
                mid
                for (cid, mid), m in self._messages.items()
                if cid == chat_key and m.get("from", {}).get("id") == user_id and "text" in m
            ]
            message_id = max(mine) if mine else None
        original = self._messages.get((chat_key, message_id)) if message_id else None
        if original is None:
            chat_type = "private" if chat_key == user_id else "group"
            message = self._user_message(user_id, chat_id, chat_type, message_id)
        else:
            message = copy.deepcopy(original)
        message["text"] = text
        message.pop("entities", None)
        found = auto_entities(text)
        if found:
            message["entities"] = found
        message["edit_date"] = int(time.time())
        self._messages[(chat_key, message["message_id"])] = message
        return self.push_update({"edited_message": copy.deepcopy(message)})

    def sticker(self, user_id: int, chat_id: int | None = None, emoji: str = "👍") -> int:
        message = self._user_message(user_id, chat_id, "private", None)
        number = next(self._file_ids)
        message["sticker"] = {
            "file_id": f"CAACAgIAAxkBAAI{number:08d}",
            "file_unique_id": f"AgAD{number:08d}",
            "type": "regular",
            "width": 512,
            "height": 512,
            "is_animated": False,
            "is_video": False,
            "emoji": emoji,
            "file_size": 24_000,
        }
        return self._push_message(message)

    def photo(self, user_id: int, chat_id: int | None = None, caption: str | None = None) -> int:
        message = self._user_message(user_id, chat_id, "private", None)
        number = next(self._file_ids)
        message["photo"] = [
            {
                "file_id": f"AgACAgIAAxkBAAI{number:08d}{size}",
                "file_unique_id": f"AQAD{number:08d}{size}",
                "width": size,
                "height": size * 3 // 4,
                "file_size": size * 60,
            }
            for size in (90, 320, 800)
        ]
        if caption is not None:
            message["caption"] = caption
        return self._push_message(message)

    def _user(self, user_id: int) -> dict[str, Any]:
        return copy.deepcopy(self._users.get(user_id) or self.define_user(user_id))

    def _chat_for(self, chat_id: Any, chat_type: str | None = None) -> dict[str, Any]:
        key = _chat_key(chat_id)
        if key in self._chats:
            return copy.deepcopy(self._chats[key])
        if isinstance(key, str):  # "@channelusername"
            number = -1_000_000_000_000 - zlib.crc32(key.encode()) % 1_000_000_000
            return {"id": number, "type": "channel", "title": key, "username": key.lstrip("@")}
        if chat_type is None:
            chat_type = "private" if key > 0 else "supergroup" if key < -(10**12) else "group"
        if chat_type == "private":
            user = self._users.get(key) or {"first_name": f"User{key}"}
            chat = {"id": key, "type": "private", "first_name": user["first_name"]}
            for extra in ("last_name", "username"):
                if extra in user:
                    chat[extra] = user[extra]
            return chat
        return {"id": key, "type": chat_type, "title": f"Test {chat_type} {key}"}

    def _user_message(
        self, user_id: int, chat_id: int | None, chat_type: str, message_id: int | None
    ) -> dict[str, Any]:
        chat_key = user_id if chat_id is None else chat_id
        if chat_type == "private" and chat_key != user_id:
            chat_type = "group" if chat_key > -(10**12) else "supergroup"
        chat = self._chats.get(chat_key) or self._chat_for(chat_key, chat_type)
        self._chats[chat_key] = chat
        if message_id is None:
            message_id = next(self._message_ids)
        else:
            self._skip_message_ids(message_id)
        return {
            "message_id": message_id,
            "from": self._user(user_id),
            "chat": copy.deepcopy(chat),
            "date": int(time.time()),
        }

    def _push_message(self, message: dict[str, Any]) -> int:
        self._messages[(message["chat"]["id"], message["message_id"])] = message
        return self.push_update({"message": copy.deepcopy(message)})

    def _skip_message_ids(self, used: int) -> None:
        upcoming = next(self._message_ids)
        self._message_ids = itertools.count(max(upcoming, used + 1))


class _Records(_State):
    """What the bot did: the recorded calls, the messages it sent, and waiting for them."""

    def calls(self, method: str | None = None, *, include_failed: bool = True) -> list[Call]:
        """Every recorded call (of ``method``, if given), oldest first."""
        return [
            c
            for c in self.sent
            if (method is None or c.method == method) and (include_failed or c.ok)
        ]

    def messages(
        self,
        chat_id: Any,
        *,
        include_failed: bool = False,
        methods: Iterable[str] = SEND_METHODS,
    ) -> list[Call]:
        """sendMessage/editMessageText/sendDocument calls to ``chat_id`` (successful only)."""
        wanted = set(methods)
        key = _chat_key(chat_id)
        return [
            c
            for c in self.sent
            if c.method in wanted and _chat_key(c.chat_id) == key and (include_failed or c.ok)
        ]

    def texts(self, chat_id: Any) -> list[str]:
        """The raw ``text`` of every successful sendMessage to ``chat_id``."""
        return [c.text or "" for c in self.messages(chat_id, methods=("sendMessage",))]

    @property
    def commands(self) -> list[dict[str, Any]]:
        """The commands last set for the default scope and no language."""
        return self.commands_for()

    def commands_for(
        self, scope: dict[str, Any] | None = None, language_code: str = ""
    ) -> list[dict[str, Any]]:
        return list(self.command_sets.get(self._scope_key(scope, language_code), []))

    @property
    def pending_updates(self) -> list[dict[str, Any]]:
        """Updates not yet confirmed by a getUpdates offset."""
        return list(self._queue)

    def message(self, chat_id: Any, message_id: int) -> dict[str, Any] | None:
        """The current state of a message the stand-in knows (sent, edited or injected)."""
        found = self._messages.get((_chat_key(chat_id), message_id))
        return copy.deepcopy(found) if found else None

    def clear(self) -> None:
        """Forget recorded calls and stats (state such as messages and commands is kept)."""
        self.sent.clear()
        self.stats.clear()

    async def wait_for(
        self,
        predicate: Callable[[Call], bool] | str | None = None,
        timeout: float = 5.0,  # noqa: ASYNC109 - the documented helper signature
        *,
        method: str | None = None,
        chat_id: Any = None,
        start: int = 0,
    ) -> Call:
        """The first recorded call (from index ``start`` on) that matches, waiting for it.

        ``predicate`` may be a callable or a method name; ``method``/``chat_id`` narrow further.
        Raises ``TimeoutError`` listing the last calls when nothing matches within ``timeout``.
        """
        if isinstance(predicate, str):
            method, predicate = predicate, None

        def matches(call: Call) -> bool:
            if method is not None and call.method != method:
                return False
            if chat_id is not None and _chat_key(call.chat_id) != _chat_key(chat_id):
                return False
            return predicate is None or bool(predicate(call))

        index = start
        try:
            async with asyncio.timeout(timeout):
                while True:
                    while index < len(self.sent):
                        call = self.sent[index]
                        index += 1
                        if matches(call):
                            return call
                    event = self._changed
                    await event.wait()
        except TimeoutError:
            recent = [c for c in self.sent if c.method != "getUpdates"][-8:]
            raise TimeoutError(
                f"no matching call within {timeout} s; last calls: {recent!r}"
            ) from None

    async def wait_delivered(
        self,
        update_id: int,
        timeout: float = 5.0,  # noqa: ASYNC109 - same shape as wait_for
    ) -> None:
        """Wait until a getUpdates answer has handed ``update_id`` to the bot."""
        try:
            async with asyncio.timeout(timeout):
                while update_id not in self.delivered:
                    event = self._changed
                    await event.wait()
        except TimeoutError:
            raise TimeoutError(f"update {update_id} not fetched within {timeout} s") from None


class _Faults(_State):
    """Telegram having a bad day: errors, dropped connections, slow answers, blocked users."""

    def fail_next(
        self,
        method: str,
        status: int,
        description: str | None = None,
        retry_after: int | None = None,
        times: int = 1,
    ) -> None:
        """Answer the next ``times`` calls of ``method`` (or ``"*"``: any but getUpdates) with
        an error: 429 carries ``parameters.retry_after`` (default 1), 403 says the bot was
        blocked, 5xx the HTTP phrase, unless ``description`` says otherwise."""
        if status == HTTPStatus.TOO_MANY_REQUESTS and retry_after is None:
            retry_after = 1
        queue = self._faults.setdefault(method.lower(), deque())
        queue.extend(_Fault(status, description, retry_after) for _ in range(times))

    def drop_next(self, method: str, times: int = 1) -> None:
        """Close the connection without answering the next ``times`` calls of ``method``
        (python-telegram-bot raises ``NetworkError``); the call is recorded with status 0."""
        queue = self._faults.setdefault(method.lower(), deque())
        queue.extend(_Fault(0, "connection dropped", None, drop=True) for _ in range(times))

    def clear_faults(self) -> None:
        self._faults.clear()

    def block_user(self, chat_id: Any) -> None:
        """Every call with this ``chat_id`` answers 403 "bot was blocked by the user"."""
        self._blocked.add(_chat_key(chat_id))

    def unblock_user(self, chat_id: Any) -> None:
        self._blocked.discard(_chat_key(chat_id))

    def delay(self, method: str, seconds: float, times: int | None = None) -> None:
        """Hold the answers of ``method`` back by ``seconds`` (the next ``times`` calls, or all
        until ``delay(method, 0)``). The call still takes effect at once, as on Telegram when a
        client times out."""
        if seconds <= 0:
            self._delays.pop(method.lower(), None)
        else:
            self._delays[method.lower()] = [seconds, times]

    def set_handler(self, method: str, handler: Handler) -> None:
        """Serve ``method`` with ``handler(call) -> result`` (may be async; raise BotApiError)."""
        self._handlers[method] = handler

    def _take_fault(self, method: str) -> _Fault | None:
        for key in (method.lower(), "*"):
            if key == "*" and method == "getUpdates":
                continue
            queue = self._faults.get(key)
            if queue:
                return queue.popleft()
        return None

    async def _maybe_delay(self, method: str) -> float:
        rule = self._delays.get(method.lower())
        if rule is None:
            return 0.0
        seconds, times = rule
        if times is not None:
            rule[1] = int(times) - 1
            if rule[1] <= 0:
                del self._delays[method.lower()]
        await asyncio.sleep(float(seconds or 0))
        return float(seconds or 0)


class _Methods(_State):
    """The Bot API methods careerbot calls, as Telegram answers them (``_m_<method>``)."""

    def _m_getMe(self, call: Call) -> dict[str, Any]:
        return {
            **self.bot_user,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    def _m_setWebhook(self, call: Call) -> bool:
        url = call.params.get("url")
        if not url:
            self.webhook = {}
            return True
        self.webhook = {k: v for k, v in call.params.items() if not isinstance(v, UploadedFile)}
        if call.params.get("drop_pending_updates"):
            self._queue.clear()
        return True

    def _m_deleteWebhook(self, call: Call) -> bool:
        self.webhook = {}
        if call.params.get("drop_pending_updates"):
            self._queue.clear()
        return True

    def _m_setMyCommands(self, call: Call) -> bool:
        commands = call.params.get("commands")
        if not isinstance(commands, list):
            raise BotApiError(400, "Bad Request: can't parse commands JSON object")
        if self.strict and len(commands) > 100:
            raise BotApiError(400, "Bad Request: too many commands")
        for command in commands:
            if not isinstance(command, dict):
                raise BotApiError(400, "Bad Request: can't parse BotCommand")
            if self.strict and not _COMMAND.match(str(command.get("command", ""))):
                raise BotApiError(400, "Bad Request: BOT_COMMAND_INVALID")
            description = str(command.get("description", ""))
            if self.strict and not 1 <= len(description) <= 256:
                raise BotApiError(400, "Bad Request: BOT_COMMAND_DESCRIPTION_INVALID")
        key = self._scope_key(call.params.get("scope"), call.params.get("language_code"))
        self.command_sets[key] = [
            {"command": c["command"], "description": c["description"]} for c in commands
        ]
        return True

    async def _m_getUpdates(self, call: Call) -> list[dict[str, Any]]:
        if self.webhook.get("url"):
            raise BotApiError(409, WEBHOOK_CONFLICT)
        self._poll_generation += 1
        generation = self._poll_generation
        self._fire()  # a long poll still waiting is terminated with 409
        params = call.params
        offset = params.get("offset")
        if offset is not None:
            offset = int(offset)
            if offset < 0:
                self._queue = self._queue[offset:]
            else:
                self._queue = [u for u in self._queue if u["update_id"] >= offset]
        limit = int(params.get("limit") or 100)
        limit = min(max(limit, 1), 100)
        timeout = max(float(params.get("timeout") or 0), 0.0)
        allowed = params.get("allowed_updates")
        if isinstance(allowed, list):
            self.allowed_updates = allowed
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            if generation != self._poll_generation:
                raise BotApiError(409, GET_UPDATES_CONFLICT)
            batch = self._deliverable(limit)
            remaining = deadline - loop.time()
            if batch or self._closing or remaining <= 0:
                self.delivered.update(u["update_id"] for u in batch)
                if batch:
                    self._fire()
                return batch
            event = self._changed
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(remaining):
                    await event.wait()

    def _deliverable(self, limit: int) -> list[dict[str, Any]]:
        allowed = self.allowed_updates
        if allowed is not None:
            wanted = set(allowed) if allowed else None

            def fits(update: dict[str, Any]) -> bool:
                kind = next((k for k in update if k != "update_id"), "")
                return kind in wanted if wanted is not None else kind not in NOT_BY_DEFAULT

            self._queue = [u for u in self._queue if fits(u)]
        return copy.deepcopy(self._queue[:limit])

    def _target_chat(self, call: Call) -> Any:
        chat_id = call.params.get("chat_id")
        if chat_id is None or chat_id == "":
            raise BotApiError(400, "Bad Request: chat_id is empty")
        return _chat_key(chat_id)

    def _formatted(
        self, call: Call, key: str, limit: int, what: str
    ) -> tuple[str | None, list[dict[str, Any]]]:
        """The text (or caption) as Telegram shows it, with entities, checked against limits."""
        raw = call.params.get(key)
        if raw is None:
            return None, []
        raw = str(raw)
        text, entities = raw, call.params.get(f"{'caption_' if key == 'caption' else ''}entities")
        if not isinstance(entities, list):
            entities = []
        if str(call.params.get("parse_mode") or "").upper() == "HTML":
            try:
                text, entities = parse_html(raw)
            except HtmlError as exc:
                if self.strict:
                    raise BotApiError(400, f"Bad Request: can't parse entities: {exc}") from None
        if self.strict and utf16_len(text) > limit:
            raise BotApiError(400, f"Bad Request: {what} is too long")
        return text, entities

    def _check_markup(self, call: Call) -> dict[str, Any] | None:
        markup = call.params.get("reply_markup")
        if not isinstance(markup, dict) or "inline_keyboard" not in markup:
            return None
        rows = markup["inline_keyboard"]
        if self.strict:
            if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
                raise BotApiError(400, "Bad Request: can't parse inline keyboard button")
            for button in (b for row in rows for b in row):
                if not str(button.get("text", "")):
                    raise BotApiError(400, "Bad Request: text buttons are unallowed")
                data = button.get("callback_data")
                if data is not None and not 1 <= len(str(data).encode()) <= MAX_CALLBACK_DATA:
                    raise BotApiError(400, "Bad Request: BUTTON_DATA_INVALID")
                if len(button) < 2:
                    raise BotApiError(
                        400, "Bad Request: text buttons are unallowed in the inline keyboard"
                    )
        return copy.deepcopy(markup)

    def _new_message(self, chat_key: Any, call: Call) -> dict[str, Any]:
        chat = self._chat_for(chat_key)
        message: dict[str, Any] = {
            "message_id": next(self._message_ids),
            "from": copy.deepcopy(self.bot_user),
            "chat": chat,
            "date": int(time.time()),
        }
        reply_to = call.params.get("reply_to_message_id")
        reply = call.params.get("reply_parameters")
        if isinstance(reply, dict):
            reply_to = reply.get("message_id")
        if reply_to is not None:
            replied = self._messages.get((chat["id"], int(reply_to)))
            if replied is not None:
                message["reply_to_message"] = copy.deepcopy(replied)
            elif self.strict and not (
                call.params.get("allow_sending_without_reply")
                or (isinstance(reply, dict) and reply.get("allow_sending_without_reply"))
            ):
                raise BotApiError(400, "Bad Request: message to be replied not found")
        return message

    def _store(self, message: dict[str, Any]) -> dict[str, Any]:
        self._messages[(message["chat"]["id"], message["message_id"])] = message
        return copy.deepcopy(message)

    def _send(
        self, call: Call, kind: str, media: Callable[[Any], Any] | None = None
    ) -> dict[str, Any]:
        """A send method as Telegram answers it: a ``text`` message, or one of ``kind``
        (``document``, ``photo``) whose parameter ``media`` turns into the message's field."""
        chat_key = self._target_chat(call)
        if media is None:
            text, entities = self._formatted(call, "text", MAX_TEXT, "message")
            if not text or not text.strip():
                raise BotApiError(400, "Bad Request: message text is empty")
            markup = self._check_markup(call)
            fields: dict[str, Any] = {"text": text, "entities": entities, "reply_markup": markup}
        else:
            given = call.params.get(kind)
            if given is None or given == "":
                raise BotApiError(400, f"Bad Request: there is no {kind} in the request")
            caption, entities = self._formatted(call, "caption", MAX_CAPTION, "message caption")
            markup = self._check_markup(call)
            fields = {kind: media(given), "caption": caption, "caption_entities": entities}
            fields["reply_markup"] = markup
        message = self._new_message(chat_key, call)
        message.update((key, value) for key, value in fields.items() if value)
        return self._store(message)

    def _m_sendMessage(self, call: Call) -> dict[str, Any]:
        return self._send(call, "text")

    def _m_sendDocument(self, call: Call) -> dict[str, Any]:
        return self._send(call, "document", self._document)

    def _document(self, document: Any) -> dict[str, Any]:
        number = next(self._file_ids)
        if isinstance(document, UploadedFile):
            return {
                "file_id": f"BQACAgIAAxkBAAI{number:08d}",
                "file_unique_id": f"AgAD{number:08d}",
                "file_name": document.filename or "document",
                "mime_type": document.content_type or "application/octet-stream",
                "file_size": document.size,
            }
        return {"file_id": str(document), "file_unique_id": f"AgAD{number:08d}"}

    def _m_answerCallbackQuery(self, call: Call) -> bool:
        query_id = str(call.params.get("callback_query_id", ""))
        if self.strict and query_id not in self._open_callbacks:
            raise BotApiError(400, QUERY_TOO_OLD)
        if self.strict and len(str(call.params.get("text") or "")) > MAX_CALLBACK_ANSWER:
            raise BotApiError(400, "Bad Request: MESSAGE_TOO_LONG")
        self._open_callbacks.discard(query_id)
        return True


class _Photos(_Methods):
    """sendPhoto: an upload checked as Telegram checks it, or a file_id handed out before."""

    def _m_sendPhoto(self, call: Call) -> dict[str, Any]:
        """A photo upload (multipart; PNG or JPEG within Telegram's limits) or a file_id that
        this server handed out before; answers with two sizes, as Telegram does."""
        return self._send(call, "photo", self._photo)

    def _photo(self, photo: Any) -> list[dict[str, Any]]:
        if isinstance(photo, UploadedFile):
            return self._uploaded_photo(photo)
        if self.strict and str(photo) not in self.photo_ids:
            raise BotApiError(400, "Bad Request: wrong file identifier/HTTP URL specified")
        return [{"file_id": str(photo), "file_unique_id": "AQAD0", "width": 1, "height": 1}]

    def _uploaded_photo(self, photo: UploadedFile) -> list[dict[str, Any]]:
        """The PhotoSize list of an upload (a thumbnail, then the photo), its ids remembered."""
        width, height = _image_size(photo.data)
        if photo.size > MAX_PHOTO_BYTES:
            raise BotApiError(400, "Bad Request: PHOTO_SAVE_FILE_INVALID")
        if width + height > MAX_PHOTO_SIDES or max(width, height) > MAX_PHOTO_RATIO * min(
            width, height
        ):
            raise BotApiError(400, "Bad Request: PHOTO_INVALID_DIMENSIONS")
        scale = 320 / max(width, height)
        thumb = (max(1, round(width * scale)), max(1, round(height * scale)))
        number = next(self._file_ids)
        info = []
        for n, (w, h) in enumerate([thumb, (width, height)]):
            file_id = f"AgACAgIAAxkBAAI{number:08d}{n}"
            self.photo_ids.add(file_id)
            size = photo.size if n else photo.size // 8
            info.append(
                {
                    "file_id": file_id,
                    "file_unique_id": f"AQAD{number:08d}{n}",
                    "width": w,
                    "height": h,
                    "file_size": size,
                }
            )
        return info


def _image_size(data: bytes) -> tuple[int, int]:
    """Width and height of a PNG (its IHDR) or a JPEG (its first SOF marker)."""
    if data.startswith(PNG_SIGNATURE) and data[12:16] == b"IHDR":
        return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    if data.startswith(b"\xff\xd8"):
        i = 2
        while i + 9 < len(data):
            marker, length = data[i + 1], int.from_bytes(data[i + 2 : i + 4], "big")
            if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
                return int.from_bytes(data[i + 7 : i + 9], "big"), int.from_bytes(
                    data[i + 5 : i + 7], "big"
                )
            i += 2 + length
    raise BotApiError(400, "Bad Request: IMAGE_PROCESS_FAILED")


class BotApiStandIn(_Updates, _Records, _Faults, _Photos):
    """A local Telegram Bot API server; use as ``async with BotApiStandIn(...) as api``.

    ``api.base_url`` is what ``ApplicationBuilder.base_url`` takes. Requests with any other token
    get 401. Must be used from the event loop it was entered in.
    """

    async def __aenter__(self) -> BotApiStandIn:
        self._changed = asyncio.Event()
        self._closing = False
        server = web.Application(client_max_size=64 * 2**20)
        server.router.add_route("*", "/{tail:.*}", self._serve)
        self._runner = web.AppRunner(server, access_log=None, shutdown_timeout=0.5)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Stop listening, end pending long polls and close every connection."""
        self._closing = True
        self._fire()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}/bot"

    @property
    def url(self) -> str:
        """``{base_url}{token}/``: append a method name to call it."""
        return f"{self.base_url}{self.token}/"

    async def _serve(self, request: web.Request) -> web.StreamResponse:
        transport = request.transport
        if transport is not None and id(transport) not in self._transports:
            self._transports.add(id(transport))
            self.connections += 1
        status, answer, drop = await self._answer(request)
        if drop and transport is not None:
            transport.abort()  # no answer at all: the client sees the connection go
        payload = json.dumps(answer, ensure_ascii=False)
        return web.Response(text=payload, status=status or 500, content_type="application/json")

    @staticmethod
    async def _parse_params(
        request: web.Request,
    ) -> tuple[dict[str, Any], dict[str, UploadedFile]]:
        params: dict[str, Any] = {k: _decode(k, v) for k, v in request.query.items()}
        files: dict[str, UploadedFile] = {}
        if not request.can_read_body:
            return params, files
        if request.content_type == "application/json":
            loaded = await request.json()
            if not isinstance(loaded, dict):
                raise ValueError("JSON body is not an object")
            params.update(loaded)
            return params, files
        for key, value in (await request.post()).items():
            if isinstance(value, web.FileField):
                data = value.file.read()
                files[key] = UploadedFile(key, value.filename, value.content_type, data)
            else:
                params[key] = _decode(key, str(value))
        for key, value in list(params.items()):
            if isinstance(value, str) and value.startswith("attach://"):
                attached = files.get(value.removeprefix("attach://"))
                if attached is not None:
                    params[key] = attached
        for name, upload in files.items():
            params.setdefault(name, upload)
        return params, files

    async def _answer(self, request: web.Request) -> tuple[int, dict[str, Any], bool]:
        received = time.monotonic()
        match = _PATH.match(request.path)
        name = match.group(2) if match else ""
        canonical = next((m for m in self._handlers if m.lower() == name.lower()), name)
        call = Call(canonical, {}, request.raw_path, received, request.method)
        drop = False
        try:
            if match is None:
                raise BotApiError(404, "Not Found")
            try:
                call.params, call.files = await self._parse_params(request)
            except (ValueError, UnicodeDecodeError) as exc:
                raise BotApiError(400, f"Bad Request: can't parse request: {exc}") from None
            if match.group(1) != self.token:
                raise BotApiError(401, "Unauthorized")
            self.stats[canonical] += 1
            handler = self._handlers.get(canonical)
            if handler is None:
                raise BotApiError(404, "Not Found: method not found")
            fault = self._take_fault(canonical)
            if fault is not None and fault.drop:
                drop = True
                raise BotApiError(0, fault.description)
            if fault is not None:
                raise BotApiError(fault.status, fault.description, fault.retry_after)
            if "chat_id" in call.params and _chat_key(call.chat_id) in self._blocked:
                raise BotApiError(403, "Forbidden: bot was blocked by the user")
            try:
                result = handler(call)
                if inspect.isawaitable(result):
                    result = await result
            except BotApiError:
                raise
            except (ValueError, TypeError, KeyError, AttributeError) as exc:
                raise BotApiError(400, f"Bad Request: {exc}") from None
            except Exception as exc:
                raise BotApiError(500, f"Internal Server Error: {exc!r}") from None
            call.result = result
            status, answer = 200, {"ok": True, "result": result}
            if canonical in {"setWebhook", "deleteWebhook"}:
                answer["description"] = (
                    "Webhook was set" if canonical == "setWebhook" else "Webhook was deleted"
                )
        except BotApiError as exc:
            call.status, call.failed, call.error = exc.status, True, exc.description
            status, answer = exc.status, exc.body()
        self.sent.append(call)
        self._fire()
        call.held = await self._maybe_delay(canonical)
        return status, answer, drop
