-- The server of a lease member `<serverId>|<leaseId>`.
local function lease_server(member)
  return string.sub(member, 1, string.find(member, '|', 1, true) - 1)
end
