-- Stint for Neovim: commands and the events that capture the session.
if vim.g.loaded_stint then
  return
end
vim.g.loaded_stint = true

local stint = require('stint')

local group = vim.api.nvim_create_augroup('stint', { clear = true })
vim.api.nvim_create_autocmd({ 'BufEnter', 'CursorHold', 'BufDelete', 'DirChanged' }, {
  group = group,
  callback = function()
    stint.schedule()
  end,
})
vim.api.nvim_create_autocmd('VimLeavePre', {
  group = group,
  callback = function()
    stint.leave()
  end,
})

vim.api.nvim_create_user_command('StintResume', function(o)
  stint.resume_command(o.args)
end, { nargs = '?', desc = "Resume a Stint session: its files, cursors and breakpoints" })
vim.api.nvim_create_user_command('StintNote', function(o)
  stint.note('fact', o.args)
end, { nargs = '*', desc = 'Note a fact in this folder\'s Stint session' })
vim.api.nvim_create_user_command('StintDecision', function(o)
  stint.note('decision', o.args)
end, { nargs = '*', desc = 'Note a decision in this folder\'s Stint session' })
vim.api.nvim_create_user_command('StintSession', function()
  stint.show()
end, { nargs = 0, desc = 'Which Stint session this folder records into' })
