"""The scenario store in the app: save, save as, clone, rename, delete (to the trash), history and restore.

Streamlit side of `planner/store.py`, shared by the overview, the editor and the compare page. The working
scenario's folder (slug) and the version stamp this session got when it opened or last saved it live in session
state (`scn_folder`, `scn_stamp`, see ui.state.load_scenario). Every action is an on_click callback (see
ui.state.leave_legacy_pages_mode) that leaves a bilingual message in `store_msg`, shown by `feedback()` on the
next run. A save conflict (someone else saved the scenario since this session opened it) is kept in
`store_conflict` until resolved: the edited scenario stays in the session and `feedback()` offers "save as".
"""
from __future__ import annotations

import re

import pandas as pd
import streamlit as st

from planner import drafts
from planner.audit import beijing_wall_time
from planner.i18n import LANGS, t
from planner.csvio import FileReadError
from planner.scenario import parse_toml_text
from planner.store import ConflictError, InvalidScenarioError, StoreError
from ui import state
from ui.i18n import lang, tr
from ui.widgets import problems_table

TRASH_ENTRY = re.compile(r"^(?P<slug>.+)-(?P<date>\d{8})-(?P<time>\d{6})-[0-9a-f]{4}$")


# --------------------------------------------------------------------------- messages


def _message(kind: str, key: str, **fmt) -> None:
    st.session_state.store_msg = (kind, {lg: t(key, lg, **fmt) for lg in LANGS}, [])


def _refused(exc: StoreError) -> None:
    problems = exc.problems if isinstance(exc, InvalidScenarioError) else []
    st.session_state.store_msg = ("error", {"zh": exc.message_zh, "en": exc.message_en}, problems)


def feedback() -> None:
    """The outcome of the last store action, and an unresolved save conflict with its way out."""
    msg = st.session_state.pop("store_msg", None)
    if msg is not None:
        kind, texts, problems = msg
        icon = {"ok": ":material/check_circle:", "error": ":material/error:"}.get(kind, ":material/info:")
        {"ok": st.success, "error": st.error}.get(kind, st.info)(texts.get(lang(), texts["zh"]), icon=icon)
        if problems:
            problems_table(problems)
    conflict = st.session_state.get("store_conflict")
    if conflict:
        with st.container(border=True):
            st.error(conflict[lang()], icon=":material/sync_problem:")
            st.caption(tr("store.conflict_kept"))
            save_as_form("conflict", default=tr("store.conflict_default_name",
                                                        name=(state.working().name if state.working() else "")))
            st.button(tr("store.conflict_reopen"), icon=":material/refresh:", key="store_conflict_reopen",
                      on_click=state.load_scenario, args=(conflict["slug"],),
                      help=tr("store.conflict_reopen_help"))


# --------------------------------------------------------------------------- state after an action


def _reopen(slug: str) -> bool:
    scn, problems, stamp = state.store().open(slug)
    if scn is None:
        st.session_state.store_msg = ("error", {lg: t("store.reopen_failed", lg, folder=slug) for lg in LANGS},
                                      problems)
        return False
    state.opened(scn, slug, stamp)
    return True


def forget_draft() -> None:
    """After a save: this session's draft of unsaved edits (ui.views.editor.keep_draft) is in the store now."""
    ss = st.session_state
    token, draft_id = ss.get("draft_token"), ss.get("draft_id")
    if token and draft_id:
        try:
            drafts.remove_draft(state.scenarios_dir().resolve(), token[0], draft_id)
        except (OSError, drafts.DraftError):
            pass
    ss.draft_written = None


def is_read_only(slug: str | None) -> bool:
    return bool(slug) and slug in state.store().read_only


# --------------------------------------------------------------------------- callbacks


def save_current() -> None:
    scn, slug = state.working(), state.folder_name()
    if scn is None or not slug:
        return
    try:
        info = state.store().save(slug, scn, state.folder_stamp())
    except ConflictError as exc:
        st.session_state.store_conflict = {"slug": slug, "zh": exc.message_zh, "en": exc.message_en}
        return
    except StoreError as exc:
        _refused(exc)
        return
    forget_draft()
    state.opened(scn, slug, info.stamp, reset_editor=False)
    _message("ok", "store.saved", name=info.name, version=info.version)


def save_as_current(key: str) -> None:
    scn = state.working()
    name = str(st.session_state.get(key) or "").strip()
    if scn is None:
        return
    if not name:
        _message("error", "store.name_missing")
        return
    try:
        info = state.store().save_as(name, scn)
    except StoreError as exc:
        _refused(exc)
        return
    forget_draft()
    # the editor is reset so that the name field in the parameters shows the new name
    state.opened(scn.with_param("scenario", "name", name), info.slug, info.stamp, reset_editor=True)
    st.session_state[key] = ""
    popover = key.replace("store_save_as_name_", "store_save_as_pop_")
    if popover in st.session_state:
        st.session_state[popover] = False
    _message("ok", "store.saved_as", name=info.name, folder=info.slug)


def clone_selected() -> None:
    source = st.session_state.get("store_clone_source")
    name = str(st.session_state.get("store_clone_name") or "").strip()
    if not source:
        return
    if not name:
        _message("error", "store.name_missing")
        return
    try:
        info = state.store().clone(source, name)
    except StoreError as exc:
        _refused(exc)
        return
    st.session_state.store_clone_name = ""
    _message("ok", "store.cloned", name=info.name, folder=info.slug)


def rename_current() -> None:
    slug = state.folder_name()
    name = str(st.session_state.get("store_rename_name") or "").strip()
    if not slug:
        return
    if not name:
        _message("error", "store.name_missing")
        return
    try:
        info = state.store().rename(slug, name)
    except StoreError as exc:
        _refused(exc)
        return
    if _reopen(info.slug):
        st.session_state.store_rename_name = ""
        _message("ok", "store.renamed", name=info.name, folder=info.slug)


def ask_delete() -> None:
    slug = st.session_state.get("store_delete_target")
    if slug:
        st.session_state.store_delete_pending = slug


def cancel_delete() -> None:
    st.session_state.pop("store_delete_pending", None)


def confirm_delete() -> None:
    slug = st.session_state.pop("store_delete_pending", None)
    if not slug:
        return
    store = state.store()
    try:
        name = store.info(slug).name
        store.delete(slug)
    except StoreError as exc:
        _refused(exc)
        return
    ss = st.session_state
    if slug == state.folder_name():
        # The scenario stays in this session (nothing is lost) but no longer belongs to a folder.
        ss.scn_folder = None
        ss.scn_stamp = None
        ss.scn_original = None
        ss.scn_detached = True
        ss.pop("store_conflict", None)
        _message("ok", "store.deleted_current", name=name)
    else:
        _message("ok", "store.deleted", name=name)


def restore_trash() -> None:
    entry = st.session_state.get("store_trash_entry")
    if not entry:
        return
    try:
        info = state.store().restore_from_trash(entry)
    except StoreError as exc:
        _refused(exc)
        return
    _message("ok", "store.trash_restored", name=info.name, folder=info.slug)


def restore_version() -> None:
    slug = state.folder_name()
    version = st.session_state.get("store_history_version")
    if not slug or version is None:
        return
    try:
        info = state.store().restore_version(slug, int(version))
    except StoreError as exc:
        _refused(exc)
        return
    if _reopen(slug):
        _message("ok", "store.version_restored", version=int(version), new=info.version)


# --------------------------------------------------------------------------- widgets


def _name_preview(key: str) -> None:
    """Under a name field: the folder the name becomes, or why the name is refused."""
    name = str(st.session_state.get(key) or "").strip()
    if not name:
        return
    try:
        slug = state.store().slug_for_new(name)
    except StoreError as exc:
        st.caption(f":red[{exc.text(lang())}]")
        return
    if state.store().exists(slug):
        st.caption(f":red[{tr('store.name_taken', name=name)}]")
    else:
        st.caption(tr("store.folder_preview", folder=slug))


def save_blocker() -> str | None:
    """Why the working scenario cannot be saved over its folder right now (None: it can)."""
    if state.working() is None:
        return tr("store.no_scenario")
    if int(st.session_state.get("editor_errors", 0)):
        return tr("store.fix_errors_first")
    slug = state.folder_name()
    if not slug:
        return tr("store.not_in_store")
    if is_read_only(slug):
        return tr("store.read_only_help")
    if not state.has_unsaved_changes():
        return tr("store.nothing_to_save")
    return None


def save_button(where, key: str = "store_save") -> None:
    blocker = save_blocker()
    where.button(tr("store.save"), icon=":material/save:", type="primary" if blocker is None else "secondary",
                 disabled=blocker is not None, help=blocker or tr("store.save_help"), key=key,
                 on_click=save_current)


def save_as_form(prefix: str, default: str = "") -> None:
    key = f"store_save_as_name_{prefix}"
    if key not in st.session_state:
        st.session_state[key] = default
    st.text_input(tr("store.new_name"), key=key, placeholder=tr("store.new_name_placeholder"),
                  help=tr("store.new_name_help"))
    _name_preview(key)
    blocked = int(st.session_state.get("editor_errors", 0)) > 0
    st.button(tr("store.save_as_go"), icon=":material/save_as:", key=f"store_save_as_go_{prefix}",
              on_click=save_as_current, args=(key,), disabled=blocked,
              help=tr("store.fix_errors_first") if blocked else tr("store.save_as_help"))


def save_as_popover(where, prefix: str) -> None:
    # a tracked popover (key + on_change) so that a successful save-as can close it and show its message
    with where.popover(tr("store.save_as"), icon=":material/save_as:", key=f"store_save_as_pop_{prefix}",
                       on_change="rerun"):
        save_as_form(prefix)


def read_only_note() -> None:
    """Under the save buttons, when the working scenario is the shipped baseline."""
    if is_read_only(state.folder_name()):
        st.caption(tr("store.read_only_note"))


# --------------------------------------------------------------------------- the panel


def _when(saved_at: str) -> str:
    return beijing_wall_time(saved_at)


def _note(note: str) -> str:
    if not note:
        return ""
    m = re.fullmatch(r"restore v(\d+)", note)
    if m:
        return tr("store.note_restore", version=int(m.group(1)))
    m = re.fullmatch(r"clone of (.+)", note)
    if m:
        return tr("store.note_clone", folder=m.group(1))
    if note == "rename":
        return tr("store.note_rename")
    return note


def history_tab() -> None:
    slug = state.folder_name()
    if not slug:
        st.info(tr("store.history_none"))
        return
    try:
        rows = state.store().history(slug)
    except StoreError as exc:
        st.error(exc.text(lang()))
        return
    table = pd.DataFrame({
        tr("store.col_version"): [r["version"] for r in rows],
        tr("store.col_saved_at"): [_when(r["saved_at"]) for r in rows],
        tr("store.col_note"): [(tr("store.current") + " " if r["current"] else "") + _note(r["note"])
                                     for r in rows],
    })
    st.caption(tr("store.history_intro", folder=slug))
    st.dataframe(table, hide_index=True)
    earlier = [r["version"] for r in rows if not r["current"]]
    if not earlier:
        st.caption(tr("store.history_only_current"))
        return
    # labels computed now (format functions run again outside the script under AppTest, in another language)
    labels = {r["version"]: tr("store.version_label", version=r["version"], when=_when(r["saved_at"]))
              for r in rows}
    cols = st.columns([2, 1], vertical_alignment="bottom")
    cols[0].selectbox(tr("store.pick_version"), earlier, key="store_history_version", format_func=labels.get)
    cols[1].button(tr("store.restore_version"), icon=":material/history:", key="store_restore_version",
                   on_click=restore_version, help=tr("store.restore_version_help"))
    if state.has_unsaved_changes():
        st.warning(tr("store.restore_replaces_edits"), icon=":material/warning:")


def clone_tab(infos) -> None:
    names = {i.slug: i.name for i in infos}
    if not names:
        return
    current = state.folder_name()
    if st.session_state.get("store_clone_source") not in names:
        st.session_state.store_clone_source = current if current in names else next(iter(names))
    labels = {i.slug: picker_label(i.slug, i.name, i.read_only) for i in infos}
    st.selectbox(tr("store.clone_source"), list(names), key="store_clone_source", format_func=labels.get)
    st.text_input(tr("store.new_name"), key="store_clone_name",
                  placeholder=tr("store.new_name_placeholder"))
    _name_preview("store_clone_name")
    st.button(tr("store.clone_go"), icon=":material/content_copy:", key="store_clone_go",
              on_click=clone_selected, help=tr("store.clone_help"))


def rename_tab() -> None:
    slug = state.folder_name()
    blocker = None
    if not slug:
        blocker = tr("store.not_in_store")
    elif is_read_only(slug):
        blocker = tr("store.read_only_rename")
    elif state.has_unsaved_changes():
        blocker = tr("store.rename_save_first")
    if blocker:
        st.caption(blocker)
    st.text_input(tr("store.new_name"), key="store_rename_name", disabled=blocker is not None,
                  placeholder=tr("store.new_name_placeholder"))
    _name_preview("store_rename_name")
    st.button(tr("store.rename_go"), icon=":material/drive_file_rename_outline:", key="store_rename_go",
              on_click=rename_current, disabled=blocker is not None)


def delete_tab(infos) -> None:
    names = {i.slug: i.name for i in infos if not i.read_only}
    pending = st.session_state.get("store_delete_pending")
    if pending:
        with st.container(border=True):
            st.warning(tr("store.delete_confirm", name=names.get(pending, pending), folder=pending),
                       icon=":material/delete:")
            row = st.container(horizontal=True)
            row.button(tr("store.delete_yes"), type="primary", icon=":material/delete:",
                       key="store_delete_yes", on_click=confirm_delete)
            row.button(tr("store.delete_no"), key="store_delete_no", on_click=cancel_delete)
        return
    if not names:
        st.caption(tr("store.delete_nothing"))
        return
    current = state.folder_name()
    if st.session_state.get("store_delete_target") not in names:
        st.session_state.store_delete_target = current if current in names else next(iter(names))
    labels = {slug: picker_label(slug, name, False) for slug, name in names.items()}
    st.selectbox(tr("store.delete_which"), list(names), key="store_delete_target", format_func=labels.get)
    st.caption(tr("store.delete_help"))
    st.button(tr("store.delete"), icon=":material/delete:", key="store_delete", on_click=ask_delete)


def trash_rows() -> list[dict]:
    """The trash, newest first: entry, slug, name (from the deleted scenario.toml), deletion time."""
    store = state.store()
    rows = []
    for entry in store.trash():
        m = TRASH_ENTRY.match(entry)
        slug = m.group("slug") if m else entry
        when = (f"{m.group('date')[:4]}-{m.group('date')[4:6]}-{m.group('date')[6:]} "
                f"{m.group('time')[:2]}:{m.group('time')[2:4]}:{m.group('time')[4:]}") if m else ""
        name = slug
        try:
            toml = store.root / ".trash" / entry / "current" / "scenario.toml"
            data = parse_toml_text(toml.read_text(encoding="utf-8-sig"))
            name = str(data.get("scenario", {}).get("name") or slug)
        except (OSError, ValueError, UnicodeDecodeError, AttributeError, FileReadError):
            pass
        rows.append({"entry": entry, "slug": slug, "name": name, "when": when})
    return rows


def trash_tab() -> None:
    rows = trash_rows()
    if not rows:
        st.caption(tr("store.trash_empty"))
        return
    st.caption(tr("store.trash_intro"))
    st.dataframe(pd.DataFrame({tr("store.col_name"): [r["name"] for r in rows],
                               tr("store.col_folder"): [r["slug"] for r in rows],
                               tr("store.col_deleted_at"): [r["when"] for r in rows]}), hide_index=True)
    label = {r["entry"]: f"{r['name']}（{r['when']}）" for r in rows}
    if st.session_state.get("store_trash_entry") not in label:
        st.session_state.store_trash_entry = rows[0]["entry"]
    cols = st.columns([2, 1], vertical_alignment="bottom")
    cols[0].selectbox(tr("store.trash_pick"), list(label), key="store_trash_entry", format_func=label.get)
    cols[1].button(tr("store.trash_restore"), icon=":material/restore_from_trash:", key="store_trash_restore",
                   on_click=restore_trash)


def picker_label(slug: str, name: str, read_only: bool) -> str:
    """How the scenario pickers show a scenario: its (Chinese) name, its folder, and 只读 for the baseline."""
    en = lang() == "en"
    tag = tr("store.read_only_tag")
    title = name if name and name != slug else ""
    if not title:
        return (f"{slug} ({tag})" if en else f"{slug}（{tag}）") if read_only else slug
    inner = ((", " if en else "，").join([slug, tag])) if read_only else slug
    return f"{title} ({inner})" if en else f"{title}（{inner}）"


def manage_panel(with_save: bool = True) -> None:
    """Save, save as, history, clone, rename, delete and the trash, for the working scenario. The tabs keep their
    selection (key) when an action changes the page above them."""
    if with_save:
        row = st.container(horizontal=True, gap="small")
        save_button(row, key="store_save_panel")
        save_as_popover(row, "panel")
        read_only_note()
    infos = state.scenario_infos()
    tabs = st.tabs([tr("store.tab_history"), tr("store.tab_clone"), tr("store.tab_rename"),
                    tr("store.tab_delete"), tr("store.tab_trash")], key="store_tabs", on_change="rerun")
    with tabs[0]:
        history_tab()
    with tabs[1]:
        clone_tab(infos)
    with tabs[2]:
        rename_tab()
    with tabs[3]:
        delete_tab(infos)
    with tabs[4]:
        trash_tab()
