-- Stint for Neovim: the session of the folder Neovim works in fills
-- itself (buffers in window order, the current one, a cursor per buffer,
-- the working directory, nvim-dap's breakpoints), and :StintResume brings
-- a session back, from any device.
--
-- It speaks the device's local protocol (JSON-RPC 2.0, a message per
-- line) through `stint rpc --agent`, which relays to the agent or the
-- desktop app, starting `stint agent` when neither runs. Works on Neovim
-- 0.7 and newer.
--
-- Columns are 1-based characters (code points), as Stint's model keeps
-- them, not Neovim's bytes.

local M = {}

--- The protocol version this plugin speaks (`hello`).
M.protocol = 1
M.version = '0.1.0'

M.config = {
  -- What starts the protocol; `vim.g.stint_command` (a list) overrides.
  -- `--agent` starts `stint agent` when no owner runs, so that the
  -- replica is not held by this editor.
  command = { 'stint', 'rpc', '--agent' },
  -- At most one update per folder in this many milliseconds.
  debounce_ms = 1000,
}

local state = {
  job = nil,
  next_id = 1,
  callbacks = {},
  pending = 0,
  partial = '',
  stderr = {},
  failed = false,
  -- After `stint rpc` stopped: not started again before this (ms).
  retry_at = 0,
  -- Neovim's folder -> { id = the session's id, folder = the workspace's
  -- folder here, which holds it and which file paths are relative to }
  sessions = {},
  -- folder -> whether a file of it was shown (or a session resumed): an
  -- editor that never showed one does not wipe what a session recorded.
  touched = {},
  -- folder -> the last update sent, encoded, to skip repeats
  sent = {},
  timer = nil,
  leaving = false,
}

local function notify(message, level)
  vim.schedule(function()
    vim.notify('stint: ' .. message, level or vim.log.levels.INFO)
  end)
end

local function encode(value)
  return vim.fn.json_encode(value)
end

local function present(value)
  return value ~= nil and value ~= vim.NIL
end

local function on_line(line)
  if line == '' then
    return
  end
  local ok, message = pcall(vim.fn.json_decode, line)
  if not ok or type(message) ~= 'table' then
    notify('the protocol answered something else than JSON: ' .. line, vim.log.levels.ERROR)
    return
  end
  if not present(message.id) then
    -- A refusal of something unreadable: nothing waits for it by id.
    state.pending = math.max(state.pending - 1, 0)
    if present(message.error) then
      notify(message.error.message, vim.log.levels.WARN)
    end
    return
  end
  local callback = state.callbacks[message.id]
  state.callbacks[message.id] = nil
  if callback == nil then
    return
  end
  state.pending = state.pending - 1
  local err = present(message.error) and message.error or nil
  if callback then
    callback(err, message.result)
  elseif err then
    notify(err.message, vim.log.levels.WARN)
  end
end

local function command()
  local c = vim.g.stint_command or M.config.command
  if type(c) == 'string' then
    c = { c, 'rpc', '--agent' }
  end
  return c
end

--- Starts `stint rpc` and says hello, once. False when it cannot run.
local function start()
  if state.job then
    return true
  end
  if state.failed or vim.loop.now() < state.retry_at then
    return false
  end
  local cmd = command()
  if vim.fn.executable(cmd[1]) ~= 1 then
    state.failed = true
    notify('`' .. cmd[1] .. '` is not installed or not on PATH: install Stint (see its README), '
      .. 'or set vim.g.stint_command', vim.log.levels.WARN)
    return false
  end
  state.job = vim.fn.jobstart(cmd, {
    on_stdout = function(_, data)
      data[1] = state.partial .. data[1]
      state.partial = table.remove(data)
      for _, line in ipairs(data) do
        on_line(line)
      end
    end,
    on_stderr = function(_, data)
      for _, line in ipairs(data) do
        if line ~= '' then
          table.insert(state.stderr, line)
        end
      end
    end,
    on_exit = function(_, code)
      state.job = nil
      state.callbacks = {}
      state.pending = 0
      state.partial = ''
      local said = table.concat(state.stderr, ' ')
      state.stderr = {}
      -- Neovim stops its jobs as it exits: that is no failure. Otherwise
      -- (the agent restarted, say) the next request starts it again, in
      -- a few seconds.
      if code ~= 0 and not state.leaving then
        state.retry_at = vim.loop.now() + 5000
        notify('`stint rpc` stopped (' .. code .. '): ' .. said .. '; it starts again at the next change',
          vim.log.levels.WARN)
      end
    end,
  })
  if state.job <= 0 then
    state.job = nil
    state.failed = true
    notify('could not start ' .. table.concat(cmd, ' '), vim.log.levels.ERROR)
    return false
  end
  M.request('hello', { protocol = M.protocol, client = 'stint-nvim ' .. M.version }, function(err)
    if err then
      state.failed = true
      notify(err.message, vim.log.levels.ERROR)
      vim.fn.jobstop(state.job)
    end
  end)
  return true
end

--- Sends `method` with `params`; `callback(err, result)` gets the answer
--- (errors are shown when there is no callback).
function M.request(method, params, callback)
  if not start() then
    if callback and not state.leaving then
      callback({ message = 'Stint is not reachable now: ' .. method .. ' was not sent' })
    end
    return
  end
  local id = state.next_id
  state.next_id = id + 1
  state.callbacks[id] = callback or false
  state.pending = state.pending + 1
  local message = { jsonrpc = '2.0', id = id, method = method, params = params or vim.empty_dict() }
  vim.fn.chansend(state.job, encode(message) .. '\n')
end

--- Waits (up to `ms`) until every request sent is answered.
function M.flush(ms)
  vim.wait(ms or 5000, function()
    return state.pending <= 0 or state.job == nil
  end, 10)
end

local function real(path)
  return vim.loop.fs_realpath(path) or path
end

--- The folder Neovim works in.
local function root()
  return real(vim.fn.getcwd())
end

--- `path` relative to `folder`, or nil when it is outside.
local function relative(folder, path)
  if path == '' then
    return nil
  end
  path = real(path)
  local prefix = folder:sub(-1) == '/' and folder or folder .. '/'
  if path:sub(1, #prefix) ~= prefix then
    return nil
  end
  return path:sub(#prefix + 1)
end

--- A byte column (0-based) of `line` in buffer `buf` as a 1-based
--- character column.
local function char_column(buf, line, byte)
  local text = vim.api.nvim_buf_get_lines(buf, line - 1, line, false)[1] or ''
  byte = math.min(byte, #text)
  local ok, chars = pcall(vim.str_utfindex, text, byte)
  return (ok and chars or byte) + 1
end

local function byte_column(buf, line, column)
  local text = vim.api.nvim_buf_get_lines(buf, line - 1, line, false)[1] or ''
  local ok, byte = pcall(vim.str_byteindex, text, math.max(column - 1, 0))
  return ok and byte or #text
end

--- The editor state of `folder` as Neovim shows it now.
function M.snapshot(folder)
  local current_win = vim.api.nvim_get_current_win()
  local current_buf = vim.api.nvim_get_current_buf()
  local order, windows = {}, {}
  for _, tab in ipairs(vim.api.nvim_list_tabpages()) do
    for _, win in ipairs(vim.api.nvim_tabpage_list_wins(tab)) do
      local buf = vim.api.nvim_win_get_buf(win)
      if not windows[buf] then
        windows[buf] = win
        table.insert(order, buf)
      end
    end
  end
  windows[current_buf] = current_win
  for _, buf in ipairs(vim.api.nvim_list_bufs()) do
    if vim.bo[buf].buflisted and not windows[buf] then
      windows[buf] = false
      table.insert(order, buf)
    end
  end
  local tabs, active = {}, nil
  for _, buf in ipairs(order) do
    local file = vim.bo[buf].buftype == '' and relative(folder, vim.api.nvim_buf_get_name(buf))
    -- A commit message, a rebase's todo: git's, not the project's.
    if file and (file == '.git' or file:sub(1, 5) == '.git/') then
      file = nil
    end
    if file then
      local line, byte, top = 1, 0, 0
      local win = windows[buf]
      if win then
        local cursor = vim.api.nvim_win_get_cursor(win)
        line, byte = cursor[1], cursor[2]
        top = vim.api.nvim_win_call(win, function()
          return vim.fn.line('w0')
        end) - 1
      else
        local mark = vim.api.nvim_buf_get_mark(buf, '"')
        line, byte = math.max(mark[1], 1), mark[2]
      end
      table.insert(tabs, {
        file_path = file,
        cursor = { line = line, column = char_column(buf, line, byte) },
        selections = {},
        scroll_top = math.max(top, 0),
        is_pinned = false,
      })
      if buf == current_buf then
        active = #tabs - 1
      end
    end
  end
  return {
    open_tabs = tabs,
    active_tab_index = active,
    layout = 'single',
    editor = 'Neovim ' .. tostring(vim.version().major) .. '.' .. tostring(vim.version().minor)
      .. '.' .. tostring(vim.version().patch),
  }
end

--- nvim-dap's breakpoints in `folder`, when nvim-dap is installed.
local function breakpoints(folder)
  local ok, dap = pcall(require, 'dap.breakpoints')
  if not ok then
    return nil
  end
  local out = {}
  for buf, list in pairs(dap.get()) do
    local file = relative(folder, vim.api.nvim_buf_get_name(buf))
    if file then
      for _, bp in ipairs(list) do
        table.insert(out, {
          file_path = file,
          line = bp.line,
          condition = bp.condition,
          log_message = bp.logMessage,
          enabled = true,
        })
      end
    end
  end
  table.sort(out, function(a, b)
    if a.file_path ~= b.file_path then
      return a.file_path < b.file_path
    end
    return a.line < b.line
  end)
  return out
end

--- The session Neovim's folder `cwd` records into (started when there is
--- none), then `then_(id, folder)`, `folder` the workspace's folder here.
local function with_session(cwd, then_)
  local bound = state.sessions[cwd]
  if bound then
    return then_(bound.id, bound.folder)
  end
  M.request('session_of_folder', { folder = cwd, start = true }, function(err, found)
    if err then
      notify(err.message, vim.log.levels.WARN)
    elseif present(found) then
      state.sessions[cwd] = { id = found.session.id, folder = found.folder }
      then_(found.session.id, found.folder)
    end
  end)
end

--- Whether `err` says the session is gone (deleted elsewhere).
local function gone(err)
  return err and type(err.data) == 'table' and err.data.kind == 'not_found'
end

--- Sends what Neovim shows now into the folder's session (nothing when it
--- did not change since the last update, nor before a file of the folder
--- was shown).
function M.capture(again)
  if state.failed then
    return
  end
  local cwd = root()
  local bound = state.sessions[cwd]
  local folder = bound and bound.folder or cwd
  local snapshot = M.snapshot(folder)
  if #snapshot.open_tabs > 0 then
    state.touched[cwd] = true
  end
  if not state.touched[cwd] then
    return
  end
  local changes = { { editor = snapshot }, { cwd = vim.fn.getcwd() } }
  local bps = breakpoints(folder)
  if bps then
    table.insert(changes, { breakpoints = bps })
  end
  local encoded = encode(changes)
  if state.sent[cwd] == encoded then
    return
  end
  with_session(cwd, function(id, workspace)
    if workspace ~= folder then
      -- First bound: the workspace holds Neovim's folder; paths are
      -- relative to the workspace.
      return M.capture(again)
    end
    state.sent[cwd] = encoded
    M.request('update_session', { id = id, changes = changes }, function(err)
      if not err then
        return
      end
      state.sent[cwd] = nil
      if gone(err) and not again then
        -- Deleted or archived elsewhere: the folder's session now.
        state.sessions[cwd] = nil
        return M.capture(true)
      end
      notify(err.message, vim.log.levels.WARN)
    end)
  end)
end

--- A capture soon: at most one per `debounce_ms`, so that moving around
--- costs nothing noticeable.
function M.schedule()
  if state.failed or state.timer then
    return
  end
  local timer = vim.loop.new_timer()
  state.timer = timer
  timer:start(M.config.debounce_ms, 0, vim.schedule_wrap(function()
    if not timer:is_closing() then
      timer:close()
    end
    if state.timer == timer then
      state.timer = nil
      M.capture()
    end
  end))
end

--- Opens session `id`'s files here, with its cursors and breakpoints
--- placed by the preflight (moved where the files changed on this device).
function M.resume(id)
  M.request('resume_session', { id = id }, function(err, resume)
    if err then
      return notify(err.message, vim.log.levels.ERROR)
    end
    local pre = resume.preflight
    if not present(pre.folder) then
      return notify(pre.summary, vim.log.levels.WARN)
    end
    local folder = pre.folder
    if real(vim.fn.getcwd()) ~= real(folder) then
      vim.cmd('cd ' .. vim.fn.fnameescape(folder))
    end
    state.sessions[real(folder)] = { id = resume.session.id, folder = real(folder) }
    state.touched[real(folder)] = true
    local opened = {}
    for i, tab in ipairs(pre.tabs) do
      if tab.placed ~= 'missing' then
        vim.cmd('edit ' .. vim.fn.fnameescape(folder .. '/' .. tab.file_path))
        local buf = vim.api.nvim_get_current_buf()
        local last = vim.api.nvim_buf_line_count(buf)
        local line = math.min(math.max(tab.line, 1), last)
        vim.api.nvim_win_set_cursor(0, { line, byte_column(buf, line, tab.column) })
        opened[i - 1] = buf
      end
    end
    local active = resume.session.editor_state.active_tab_index
    if present(active) and opened[active] then
      vim.api.nvim_set_current_buf(opened[active])
    end
    local ok, dap = pcall(require, 'dap.breakpoints')
    if ok then
      for i, bp in ipairs(pre.breakpoints) do
        local recorded = resume.session.breakpoints[i]
        -- nvim-dap has no disabled breakpoints: a disabled one (from VS
        -- Code) is not set here.
        if bp.placed ~= 'missing' and recorded.enabled ~= false then
          local buf = vim.fn.bufadd(folder .. '/' .. bp.file_path)
          vim.fn.bufload(buf)
          dap.set({
            condition = present(recorded.condition) and recorded.condition or nil,
            log_message = present(recorded.log_message) and recorded.log_message or nil,
          }, buf, bp.line)
        end
      end
    end
    local said = pre.summary
    if #pre.warnings > 0 then
      said = said .. '; ' .. table.concat(pre.warnings, '; ')
    end
    notify('resumed ' .. resume.session.name .. ': ' .. said)
  end)
end

--- :StintResume [ID]: session ID, else one picked among the sessions of
--- this folder's workspace (every device's), newest first.
function M.resume_command(args)
  if args ~= '' then
    return M.resume(args)
  end
  local cwd = root()
  -- The workspace holding this folder (without starting a session).
  M.request('session_of_folder', { folder = cwd, start = false }, function(err, found)
    if err then
      return notify(err.message, vim.log.levels.ERROR)
    end
    local folder = present(found) and found.folder or cwd
    M.request('list_sessions', { filter = { workspace = folder } }, function(err2, sessions)
      if err2 then
        return notify(err2.message, vim.log.levels.ERROR)
      end
      if #sessions == 0 then
        return notify('no session of ' .. folder .. ' yet', vim.log.levels.WARN)
      end
      vim.ui.select(sessions, {
        prompt = 'Resume which session?',
        format_item = function(s)
          local notes = #s.memory.facts + #s.memory.decisions
          return s.name .. '  (' .. s.updated_at:sub(1, 16) .. ', ' .. notes .. ' notes)'
        end,
      }, function(choice)
        if choice then
          M.resume(choice.id)
        end
      end)
    end)
  end)
end

--- :StintNote TEXT and :StintDecision TEXT: into the folder's session.
function M.note(kind, text)
  if text == '' then
    return notify('say what to note: :Stint' .. (kind == 'fact' and 'Note' or 'Decision') .. ' TEXT',
      vim.log.levels.WARN)
  end
  local change = kind == 'fact' and { fact = text } or { decision = { text, vim.NIL } }
  with_session(root(), function(id)
    M.request('update_session', { id = id, changes = { change } }, function(err)
      if err then
        return notify(err.message, vim.log.levels.ERROR)
      end
      notify((kind == 'fact' and 'noted: ' or 'decided: ') .. text)
    end)
  end)
end

--- :StintSession: which session this folder records into.
function M.show()
  with_session(root(), function(id)
    M.request('find_session', { id = id }, function(err, s)
      if err then
        return notify(err.message, vim.log.levels.ERROR)
      end
      notify(s.name .. ' (' .. s.id .. '), ' .. #s.editor_state.open_tabs .. ' files, '
        .. #s.breakpoints .. ' breakpoints')
    end)
  end)
end

--- On leaving: the last capture, written before Neovim exits.
function M.leave()
  state.leaving = true
  local timer = state.timer
  state.timer = nil
  if timer and not timer:is_closing() then
    timer:stop()
    timer:close()
  end
  M.capture()
  M.flush(3000)
end

function M.setup(config)
  M.config = vim.tbl_extend('force', M.config, config or {})
end

return M
