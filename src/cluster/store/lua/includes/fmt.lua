-- A number as text with 17 significant digits, so it reads back as exactly the double TypeScript holds.
local function fmt(x)
  return string.format('%.17g', x)
end
