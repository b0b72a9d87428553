/*
 * cluster_lua.c - the scripts of cluster_lua.h. Numbers are formatted with
 * %d: Lua 5.1 would write a large one as 1.2e+14.
 */
#include "cluster_lua.h"

/* Redis's clock in ms, for the leases. */
#define LUA_NOW \
	"local t = redis.call('TIME')\n" \
	"local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n"

/* A room's key from its name as shown: lowercase, without the '#'. */
#define LUA_KEY \
	"local function key(room) return string.lower(string.sub(room, 2)) end\n"

const char *const cluster_lua[LUA_SCRIPTS] = {
	[LUA_SAY] =
	"local epoch = redis.call('GET', KEYS[3])\n"
	/* Gone (FLUSHALL, a new Redis), or not one (someone wrote it):
	 * made anew, as the nodes check it (cluster_epoch_ok). */
	"if not epoch or #epoch > 39 or not string.match(epoch, '^[0-9a-f]+$')\n"
	"then\n"
	"  local t = redis.call('TIME')\n"
	"  epoch = string.format('%x%x', tonumber(t[1]), tonumber(t[2]))\n"
	"  redis.call('SET', KEYS[3], epoch)\n"
	"end\n"
	/* One INCRBY numbers the batch, one RPUSH keeps it and one PUBLISH
	 * carries it: Redis's cost is a few commands a batch, and each node
	 * reads one bus message for it, not one a line. */
	"local keep, n = tonumber(ARGV[5]), #ARGV - 5\n"
	"if n < 1 then return 0 end\n"
	"local last = redis.call('INCRBY', KEYS[1], n)\n"
	"local first = last - n + 1\n"
	"if keep > 0 then\n"
	"  local entries = {}\n"
	"  for i = 1, n do\n"
	"    entries[i] = string.format('%d', first + i - 1) .. ' ' ..\n"
	"        ARGV[3] .. ' ' .. ARGV[4] .. ' ' .. ARGV[5 + i]\n"
	"  end\n"
	"  redis.call('RPUSH', KEYS[2], unpack(entries))\n"
	"  redis.call('LTRIM', KEYS[2], -keep, -1)\n"
	"end\n"
	"redis.call('PUBLISH', ARGV[1], 'M ' .. ARGV[2] .. ' ' .. epoch .. ' ' ..\n"
	"    string.format('%d', first) .. ' ' .. ARGV[3] .. ' ' .. ARGV[4] ..\n"
	"    ' ' .. table.concat(ARGV, '\\n', 6))\n"
	"return last\n",

	[LUA_CLAIM] =
	LUA_NOW
	"if not redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then\n"
	"  return 0\n"
	"end\n"
	/* The name ends with the node's lease, not after it. */
	"local until_ms = tonumber(redis.call('ZSCORE', KEYS[3], ARGV[1]))\n"
	"if until_ms and until_ms > now then\n"
	"  redis.call('PEXPIREAT', KEYS[1], until_ms)\n"
	"end\n"
	"redis.call('HSET', KEYS[2], ARGV[3], '#lobby')\n"
	"redis.call('PUBLISH', ARGV[4], 'N lobby ' .. ARGV[3] .. ' joined')\n"
	"return 1\n",

	[LUA_RELEASE] =
	"if redis.call('GET', KEYS[1]) == ARGV[1] then\n"
	"  redis.call('DEL', KEYS[1])\n"
	"end\n"
	"redis.call('HDEL', KEYS[2], ARGV[2])\n"
	"redis.call('PUBLISH', ARGV[4], 'N ' .. ARGV[3] .. ' ' .. ARGV[2] ..\n"
	"    ' disconnected')\n"
	"return 1\n",

	[LUA_MOVE] =
	"redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])\n"
	"redis.call('PUBLISH', ARGV[5], 'N ' .. ARGV[3] .. ' ' .. ARGV[1] ..\n"
	"    ' left')\n"
	"redis.call('PUBLISH', ARGV[5], 'N ' .. ARGV[4] .. ' ' .. ARGV[1] ..\n"
	"    ' joined')\n"
	"return 1\n",

	[LUA_DM] =
	"if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end\n"
	"redis.call('PUBLISH', ARGV[1], 'D ' .. ARGV[2] .. ' ' .. ARGV[3] ..\n"
	"    ' ' .. ARGV[4])\n"
	"return 1\n",

	[LUA_WHO] =
	LUA_NOW LUA_KEY
	"local out = {}\n"
	"for _, node in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], now,\n"
	"    '+inf')) do\n"
	"  local users = redis.call('HGETALL', ARGV[1] .. node)\n"
	"  for i = 1, #users, 2 do\n"
	"    if key(users[i + 1]) == ARGV[2] then out[#out + 1] = users[i] end\n"
	"  end\n"
	"end\n"
	"return out\n",

	[LUA_ROOMS] =
	LUA_NOW LUA_KEY
	"local count, shown, order = {}, {}, {}\n"
	"for _, node in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], now,\n"
	"    '+inf')) do\n"
	"  local users = redis.call('HGETALL', ARGV[1] .. node)\n"
	"  for i = 2, #users, 2 do\n"
	"    local k = key(users[i])\n"
	"    if not count[k] then\n"
	"      count[k], shown[k], order[#order + 1] = 0, users[i], k\n"
	"    end\n"
	"    count[k] = count[k] + 1\n"
	"  end\n"
	"end\n"
	"local out = {}\n"
	"for _, k in ipairs(order) do\n"
	"  out[#out + 1] = shown[k]\n"
	"  out[#out + 1] = count[k]\n"
	"end\n"
	"return out\n",

	[LUA_REFRESH] =
	LUA_NOW LUA_KEY
	"local node, lease = ARGV[1], tonumber(ARGV[2])\n"
	/* This node's own lease ran out too: Redis (or this node) stalled,
	 * and the others may be as alive as this one. They renew on their
	 * own; those that do not are swept at the next renewal. */
	"local last = tonumber(redis.call('ZSCORE', KEYS[1], node))\n"
	"local stalled = last ~= nil and last < now\n"
	"for _, dead in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], '-inf',\n"
	"    '(' .. now)) do\n"
	"  if stalled then break end\n"
	"  if dead ~= node then\n"
	"    local users = redis.call('HGETALL', ARGV[4] .. dead)\n"
	"    for i = 1, #users, 2 do\n"
	"      redis.call('PUBLISH', ARGV[3], 'N ' .. key(users[i + 1]) ..\n"
	"          ' ' .. users[i] .. ' disconnected')\n"
	"    end\n"
	"    redis.call('DEL', ARGV[4] .. dead)\n"
	"  end\n"
	"  redis.call('ZREM', KEYS[1], dead)\n"
	"end\n"
	"redis.call('ZADD', KEYS[1], now + lease, node)\n"
	"local mine = ARGV[4] .. node\n"
	"local first = 7 + 2 * tonumber(ARGV[6])\n"
	"for i = 7, first - 1, 2 do\n"           /* left while Redis was away */
	"  local name = ARGV[5] .. string.lower(ARGV[i])\n"
	"  local held = redis.call('GET', name) == node\n"
	"  if held then redis.call('DEL', name) end\n"
	/* Announced only if it was this node's: never someone else's. */
	"  if redis.call('HDEL', mine, ARGV[i]) == 1 or held then\n"
	"    redis.call('PUBLISH', ARGV[3], 'N ' .. ARGV[i + 1] .. ' ' ..\n"
	"        ARGV[i] .. ' disconnected')\n"
	"  end\n"
	"end\n"
	"redis.call('DEL', mine)\n"
	"local lost = {}\n"
	"for i = first, #ARGV, 2 do\n"
	"  local name = ARGV[5] .. string.lower(ARGV[i])\n"
	"  local holder = redis.call('GET', name)\n"
	"  if holder == false or holder == node then\n"
	"    redis.call('SET', name, node, 'PX', lease)\n"
	"    redis.call('HSET', mine, ARGV[i], ARGV[i + 1])\n"
	"  else\n"
	"    lost[#lost + 1] = ARGV[i]\n"
	"  end\n"
	"end\n"
	"return lost\n",
};
