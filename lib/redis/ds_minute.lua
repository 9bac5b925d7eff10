#!lua flags=no-cluster
-- SPDX-License-Identifier: BSD-3-Clause
--
-- ds_minute.lua: writes one sealed minute of one sensor and applies it to its
-- hour and its day, atomically (EVALSHA; ds_redis.c embeds this file). The
-- shebang must be the first line: it makes Redis 7 refuse the script up
-- front when out of memory (instead of stopping it half way) and in a
-- cluster, where the keys, built here rather than declared, would span slots.
--
-- The minute's values do not come through the script. ds_redis.c sends one
-- transaction: MULTI, RESTOREs of the staged zsets (fb:M:staged:DIM,
-- fb:M:staged:DIM:sources, fb:M:staged:proto:bytes; ds_dump.c serialises
-- them), EVALSHA of this script, the HyperLogLogs' PFADDs and PFMERGEs,
-- EXEC. A reader sees all of it or none. This script moves the staged zsets
-- into place and applies them to the hour and the day without reading them
-- into Lua: a busy minute has a few hundred thousand values, and decoding
-- them from JSON in Lua, then converting each back into an argument, cost
-- more than the writes (docs/PERFORMANCE.md).
--
-- ARGV[1] is the rest as JSON (ds_redis.c, encode_minute()): names, the
-- minute's, hour's and day's keys and start times, TTLs and index cut-offs,
-- every feed's totals and the names of its dimensions that have values (each
-- with staged zsets), and the counters. JSON because Redis has cjson built
-- in and a human can read the argument in MONITOR; every number is an
-- integer below 2^53, which a Lua number holds exactly.
--
-- Per feed F (P:S:F = fb, minute key mb = fb:M):
--
--   old  := HGETALL mb; the summed zsets mb:DIM, mb:proto:bytes renamed to
--           mb:old:...  (what the minute held)
--   UNLINK every key the minute could have; the staged zsets renamed into
--   place, the hash written  (absolute values: idempotent)
--   for the hour fb:h:H and the day fb:d:D, base :=
--     skip  the day's `applied` set has M but mb is gone: the minute expired,
--           its old values are unknown, so leave the sums alone (counted)
--     old   M was applied to the day and the period's hash exists
--     none  first application (or the period's keys expired): add everything
--   period += new - base: hash (packets, bytes, minutes, partial), every
--   DIM zset and proto:bytes (new - old is one ZUNIONSTORE with weights 1
--   and -1, its zeros removed); a member whose sum reaches 0 is removed.
--   The hash's rev counts these writes. With base none, a DIM zset the
--   sensor sent whole (fb:M:staged:hour:DIM, :day:DIM) replaces the
--   period's when the period's rev is the one the sensor says it left
--   (f.whole_hour, f.whole_day; 0: no such period yet): the sensor has
--   summed it already.
--
-- A join (a.join, the writer id of a live start's first minute) adds the
-- minute to what an earlier process of the sensor left of it, partial:
--   carry := (P:S:M:joined is a.join: a retry of this join) the carry kept
--            by the first attempt; (else) the minute as it is when partial,
--            copied to mb:carry (hash) and mb:carry:NAME (zsets), or nothing
--   new   := staged + carry (hash fields and zsets; sampling the larger)
-- and applies it as any rewrite. Any other write deletes the carry. So a
-- minute holds the sum of the processes that saw a part of it, and rewriting
-- it (retries, a spooled minute written again) still changes nothing.
--
-- The sensor's counters (P:S:M:counters -> P:S:h:H:counters, P:S:d:D:counters)
-- follow the same rules, with "applied" meaning applied to any feed's day.
-- Then indexes, TTLs and P:S:meta are updated.
--
-- Cost: a minute with every TCP and UDP port has 8 zsets of 65536 members
-- to place and sum. A period zset is summed with a minute's (or with the
-- difference of a rewritten minute) inside Redis, by ZUNIONSTORE, when that
-- holds a quarter of the period's members or more; otherwise only the
-- members it has are read and updated (ZMSCORE, ZADD, ZREM, in chunks below
-- Lua's unpack() limit of about 8000 values); or, when the sensor sends a
-- period's new zsets whole and the period still holds what it last wrote
-- there (its hash's rev), by renaming them into place (ds_redis.c, "Periods
-- sent whole"). Returns the number of parts (feeds, counters) whose sums
-- were skipped, then per feed 1 or 0: its hour, its day taken whole.

local a = cjson.decode(ARGV[1])

-- Values per command: unpack() fails beyond LUAI_MAXCSTACK (8000) values.
local CHUNK = 3000

local P = a.prefix .. ':' .. a.sensor
local M, H, D = a.minute, a.hour, a.day
local EMPTY = {}

-- Integers as Redis wants them for HSET/HINCRBY: no exponent, no ".0".
local function int(n)
	return string.format('%.0f', n)
end

local function expire(key, ttl)
	if ttl > 0 then
		redis.call('EXPIRE', key, ttl)
	end
end

local function hash_read(key)
	local r = redis.call('HGETALL', key)
	if #r == 0 then
		return nil
	end
	local t = {}
	for i = 1, #r, 2 do
		t[r[i]] = r[i + 1]
	end
	return t
end

-- Add deltas to a period zset: read the current sums of just these members
-- (ZMSCORE), then write the new sums, removing those that reach 0. The
-- chunk tables are reused from call to call.
local set_buf, del_buf = {}, {}
local function zset_add(key, labels, deltas)
	local n = #labels
	for i = 1, n, CHUNK / 2 do
		local last = math.min(n, i + CHUNK / 2 - 1)
		local cur = redis.call('ZMSCORE', key, unpack(labels, i, last))
		local j, k = 0, 0
		for x = i, last do
			local c = cur[x - i + 1]
			local s = (tonumber(c) or 0) + deltas[x]
			if s > 0 then
				set_buf[j + 1] = s
				set_buf[j + 2] = labels[x]
				j = j + 2
			elseif c then
				k = k + 1
				del_buf[k] = labels[x]
			end
		end
		if j > 0 then
			redis.call('ZADD', key, unpack(set_buf, 1, j))
		end
		if k > 0 then
			redis.call('ZREM', key, unpack(del_buf, 1, k))
		end
	end
end

-- The (label, score) pairs of a zset, split for zset_add().
local function zset_split(key)
	local r = redis.call('ZRANGE', key, 0, -1, 'WITHSCORES')
	local labels, scores = {}, {}
	for i = 1, #r, 2 do
		labels[#labels + 1] = r[i]
		scores[#scores + 1] = tonumber(r[i + 1])
	end
	return labels, scores
end

-- Add the zset src (a minute's values, or a rewritten minute's changes) to
-- the period zset key. When src holds a quarter of the period's members or
-- more, summing the two inside Redis is cheaper than zset_add(), which costs
-- per member of src (65536 into 65536 members: 153 ms against 407 ms; 1000
-- into 65536: 110 ms against 7 ms; see docs/PERFORMANCE.md, item 4). Zero
-- sums go, as in zset_add().
local function zset_add_from(key, src)
	local n = redis.call('ZCARD', src)
	if n == 0 then
		return
	end
	if n * 4 >= redis.call('ZCARD', key) then
		redis.call('ZUNIONSTORE', key, 2, key, src)
		redis.call('ZREMRANGEBYSCORE', key, '-inf', 0)
		return
	end
	zset_add(key, zset_split(src))
end

-- A whole minute (its zset minute_key) added to a period.
local function zset_add_all(key, minute_key)
	if redis.call('EXISTS', key) == 0 then
		-- A new period: its sums are the minute's values. COPY duplicates
		-- the zset inside Redis, twice as fast as ZADD of the same pairs;
		-- it copies the minute's TTL too, which expire() then replaces.
		redis.call('COPY', minute_key, key)
		redis.call('PERSIST', key)
		redis.call('ZREMRANGEBYSCORE', key, '-inf', 0)
		return
	end
	zset_add_from(key, minute_key)
end

-- The changes of a rewritten minute: new - old, as a zset at delta_key
-- without its zeros (a missing key is an empty zset to ZUNIONSTORE).
local function zset_delta(new_key, old_key, delta_key)
	redis.call('ZUNIONSTORE', delta_key, 2, new_key, old_key, 'WEIGHTS', 1, -1)
	redis.call('ZREMRANGEBYSCORE', delta_key, 0, 0)
	return delta_key
end

-- The base of one period (see the top): 'skip', 'old' or 'none'.
local function base_of(applied, have_old, period_hash)
	if applied and not have_old then
		return 'skip'
	end
	if applied and redis.call('EXISTS', period_hash) == 1 then
		return 'old'
	end
	return 'none'
end

-- Every zset a feed-minute can have, and the dimension it is of.
local mnames = {}
for _, dn in ipairs(a.dim_names) do
	mnames[#mnames + 1] = { name = dn, dim = dn }
	mnames[#mnames + 1] = { name = dn .. ':sources', dim = dn }
end
mnames[#mnames + 1] = { name = 'proto:bytes', dim = 'proto' }

-- A join's carry (see the top). P:S:M:joined names the join the minute's
-- carries belong to; a retry of that join finds its own id there.
local joined_key = P .. ':' .. M .. ':joined'
local rejoin = false
if a.join then
	rejoin = redis.call('GET', joined_key) == a.join
	redis.call('SET', joined_key, a.join)
	expire(joined_key, a.ttl.minute)
else
	redis.call('UNLINK', joined_key)
end

-- The carry of the hash key k (a feed-minute or the counters), whose current
-- fields are old: returned as a table of fields (nil: not a join). names:
-- the zsets that go with it (a feed-minute's), or nil.
local function carry_of(k, old, names)
	local ck = k .. ':carry'
	local keys = { ck }
	for _, z in ipairs(names or EMPTY) do
		keys[#keys + 1] = ck .. ':' .. z.name
	end
	if rejoin then
		return hash_read(ck) or {}
	end
	redis.call('UNLINK', unpack(keys))
	if not a.join then
		return nil
	end
	if old == nil or old.partial ~= '1' then
		return {}
	end
	for _, z in ipairs(names or EMPTY) do
		redis.call('COPY', k .. ':' .. z.name, ck .. ':' .. z.name)
	end
	local h = { 'HSET', ck }
	for f, v in pairs(old) do
		h[#h + 1] = f
		h[#h + 1] = v
	end
	redis.call(unpack(h))
	for _, key in ipairs(keys) do
		expire(key, a.ttl.minute)
	end
	return old
end

local function num(t, f)
	return t and tonumber(t[f]) or 0
end

local skipped = 0
local applied_any = false
local periods = {
	{ tag = 'h:' .. H, ttl = a.ttl.hour, kind = 'hour' },
	{ tag = 'd:' .. D, ttl = a.ttl.day, kind = 'day' },
}
-- Per feed, whether its hour and its day were taken whole (1) or not (0).
local whole_taken = {}

-- Every summed key a minute's dimension can have, and the dimension it is of.
local zkinds = {}
for _, dn in ipairs(a.dim_names) do
	zkinds[#zkinds + 1] = { name = dn, dim = dn }
end
zkinds[#zkinds + 1] = { name = 'proto:bytes', dim = 'proto' }

for _, f in ipairs(a.feeds) do
	local fb = P .. ':' .. f.name
	local mb = fb .. ':' .. M
	local old = hash_read(mb)
	local carry = carry_of(mb, old, mnames)
	-- The minute's totals: this write's, plus a join's carry.
	local packets = f.packets + num(carry, 'packets')
	local bytes = f.bytes + num(carry, 'bytes')
	local applied_key = fb .. ':d:' .. D .. ':applied'
	local applied = redis.call('SISMEMBER', applied_key, M) == 1
	local base = {}
	local need_old = false

	applied_any = applied_any or applied
	for i, p in ipairs(periods) do
		base[i] = base_of(applied, old ~= nil, fb .. ':' .. p.tag)
		need_old = need_old or base[i] == 'old'
	end
	if base[1] == 'skip' then
		skipped = skipped + 1
	end

	-- A period sent whole (f.whole_hour, f.whole_day: the rev it must have)
	-- is taken only when this minute is new to it and it still holds what
	-- the sensor wrote there last: its rev, or for rev 0 no such period yet
	-- (docs/SCHEMA.md, "Hours and days").
	local whole = {}
	for i, p in ipairs(periods) do
		local want = f['whole_' .. p.kind]
		local pk = fb .. ':' .. p.tag
		-- (Nor when a join carries another process' part: the sensor's
		-- sums do not have it.)
		local ok = want ~= nil and base[i] == 'none' and next(carry or EMPTY) == nil
		if ok and want == 0 then
			ok = redis.call('EXISTS', pk) == 0
			for _, dn in ipairs(f.dims) do
				ok = ok and redis.call('EXISTS', pk .. ':' .. dn) == 0
			end
		elseif ok then
			ok = tonumber(redis.call('HGET', pk, 'rev')) == want
		end
		whole[i] = ok
		whole_taken[#whole_taken + 1] = ok and 1 or 0
	end

	-- The old summed zsets, set aside before the minute's keys are deleted;
	-- and what a failed earlier run may have left under the same names.
	local tmp = {}
	for _, z in ipairs(zkinds) do
		tmp[#tmp + 1] = mb .. ':old:' .. z.name
		tmp[#tmp + 1] = mb .. ':delta:' .. z.name
	end
	redis.call('UNLINK', unpack(tmp))
	local old_z = {}
	if need_old then
		for _, z in ipairs(zkinds) do
			local k = mb .. ':' .. z.name
			old_z[z.name] = mb .. ':old:' .. z.name
			if redis.call('EXISTS', k) == 1 then
				redis.call('RENAME', k, old_z[z.name])
			end
		end
	end

	-- The minute's own keys (docs/SCHEMA.md, "Redis keys"): deleted, then
	-- the staged zsets renamed into place.
	local keys = { mb }
	for _, z in ipairs(mnames) do
		keys[#keys + 1] = mb .. ':' .. z.name
	end
	redis.call('UNLINK', unpack(keys))
	local h = { 'HSET', mb, 'packets', int(packets), 'bytes', int(bytes),
		    'sources', int(f.sources + num(carry, 'sources')),
		    'partial', int(a.partial),
		    'sources_sampling',
		    int(math.max(a.sampling, num(carry, 'sources_sampling'))) }
	if a.signatures_version then
		h[#h + 1] = 'signatures_version'
		h[#h + 1] = a.signatures_version
	end
	redis.call(unpack(h))
	expire(mb, a.ttl.minute)
	local present = {}
	for _, dn in ipairs(f.dims) do
		present[dn] = true
		local names = { dn, dn .. ':sources' }
		if dn == 'proto' then
			names[3] = 'proto:bytes'
		end
		for _, n in ipairs(names) do
			redis.call('RENAME', mb .. ':staged:' .. n, mb .. ':' .. n)
			expire(mb .. ':' .. n, a.ttl.minute)
		end
	end
	-- A join's carry added (a missing key is an empty zset to ZUNIONSTORE).
	for _, z in ipairs(carry and mnames or EMPTY) do
		local k = mb .. ':' .. z.name
		if redis.call('EXISTS', mb .. ':carry:' .. z.name) == 1 then
			redis.call('ZUNIONSTORE', k, 2, k, mb .. ':carry:' .. z.name)
			expire(k, a.ttl.minute)
			present[z.dim] = true
		end
	end

	-- The hour and the day.
	for i, p in ipairs(periods) do
		local pk = fb .. ':' .. p.tag
		local o = base[i] == 'old' and old or nil
		if base[i] ~= 'skip' then
			redis.call('HINCRBY', pk, 'packets', int(packets - num(o, 'packets')))
			redis.call('HINCRBY', pk, 'bytes', int(bytes - num(o, 'bytes')))
			redis.call('HINCRBY', pk, 'minutes', o and 0 or 1)
			redis.call('HINCRBY', pk, 'partial', int(a.partial - num(o, 'partial')))
			-- Every change of the period: what a sensor's sums are checked by.
			redis.call('HINCRBY', pk, 'rev', 1)
		end
		-- A rewrite counts as a write of the period: every key's TTL restarts.
		expire(pk, p.ttl)
	end
	for _, z in ipairs(zkinds) do
		local mk = mb .. ':' .. z.name
		local delta
		for i, p in ipairs(periods) do
			local key = fb .. ':' .. p.tag .. ':' .. z.name
			if base[i] == 'old' then
				if delta == nil then
					delta = zset_delta(mk, old_z[z.name], mb .. ':delta:' .. z.name)
				end
				zset_add_from(key, delta)
			elseif base[i] == 'none' and present[z.dim] then
				local sk = mb .. ':staged:' .. p.kind .. ':' .. z.name
				-- The period's new sums, as the sensor sent them (none
				-- staged: the minute's values are all 0, which add nothing).
				if whole[i] and z.name == z.dim and
				   redis.call('EXISTS', sk) == 1 then
					-- UNLINK first: a big old zset is freed in the
					-- background, not by RENAME in this script.
					redis.call('UNLINK', key)
					redis.call('RENAME', sk, key)
				else
					zset_add_all(key, mk)
				end
			end
			expire(key, p.ttl)
		end
	end
	redis.call('UNLINK', unpack(tmp))
	-- What was staged for periods not taken whole.
	local rm = {}
	for _, p in ipairs(periods) do
		for _, dn in ipairs(f.dims) do
			rm[#rm + 1] = mb .. ':staged:' .. p.kind .. ':' .. dn
		end
	end
	if #rm > 0 then
		redis.call('UNLINK', unpack(rm))
	end
	if base[2] ~= 'skip' then
		redis.call('SADD', applied_key, M)
	end
	expire(applied_key, a.ttl.day)

	-- Indexes of the minute, hour and day.
	local idx = {
		{ 'minutes', a.minute_t, M, a.ttl.minute, a.cut.minute },
		{ 'hours', a.hour_t, H, a.ttl.hour, a.cut.hour },
		{ 'days', a.day_t, D, a.ttl.day, a.cut.day },
	}
	for _, x in ipairs(idx) do
		local key = fb .. ':' .. x[1]
		redis.call('ZADD', key, x[2], x[3])
		if x[4] > 0 then
			-- "(" excludes the cut-off itself, which stays.
			redis.call('ZREMRANGEBYSCORE', key, '-inf', '(' .. int(x[5]))
			redis.call('EXPIRE', key, x[4])
		end
	end
end

-- Sensor-wide counters. "partial" is the minute's flag, not a counter;
-- running totals (*_total, e.g. redis.dropped_total) do not add up over
-- minutes, so they stay in the minute only.
do
	local ck = P .. ':' .. M .. ':counters'
	local old = hash_read(ck)
	local carry = carry_of(ck, old, nil)
	local names, values = a.counters.names, a.counters.values

	-- A join's carry added, running totals (*_total) and "partial" excepted.
	if next(carry or EMPTY) ~= nil then
		local at, n2, v2 = {}, {}, {}
		for k, n in ipairs(names) do
			n2[k], v2[k], at[n] = n, values[k], k
		end
		names, values = n2, v2
		for n, v in pairs(carry) do
			if n ~= 'partial' and not n:find('_total$') then
				if at[n] then
					values[at[n]] = values[at[n]] + tonumber(v)
				else
					names[#names + 1] = n
					values[#values + 1] = tonumber(v)
				end
			end
		end
	end

	redis.call('UNLINK', ck)
	local i = 1
	repeat
		local args = { 'HSET', ck }
		if i == 1 then
			args[3], args[4] = 'partial', int(a.partial)
		end
		local last = math.min(#names, i + CHUNK / 2 - 1)
		for k = i, last do
			args[#args + 1] = names[k]
			args[#args + 1] = int(values[k])
		end
		redis.call(unpack(args))
		i = last + 1
	until i > #names
	expire(ck, a.ttl.minute)

	for _, p in ipairs(periods) do
		local pk = P .. ':' .. p.tag .. ':counters'
		local b = base_of(applied_any, old ~= nil, pk)
		if b == 'skip' then
			if p == periods[1] then
				skipped = skipped + 1
			end
		else
			local o = b == 'old' and old or nil
			local seen = {}
			for k = 1, #names do
				local n = names[k]
				seen[n] = true
				if n ~= 'partial' and not n:find('_total$') then
					local d = values[k] - num(o, n)
					if d ~= 0 or o == nil then
						redis.call('HINCRBY', pk, n, int(d))
					end
				end
			end
			-- A counter the minute no longer has.
			for n, v in pairs(o or EMPTY) do
				local gone = not seen[n] and n ~= 'partial'
				if gone and not n:find('_total$') and tonumber(v) ~= 0 then
					redis.call('HINCRBY', pk, n, int(-tonumber(v)))
				end
			end
			redis.call('HINCRBY', pk, 'minutes', o and 0 or 1)
			redis.call('HINCRBY', pk, 'partial', int(a.partial - num(o, 'partial')))
		end
		expire(pk, p.ttl)
	end
end

-- Who writes, and what a report needs to read the days right.
redis.call('SADD', a.prefix .. ':sensors', a.sensor)
expire(a.prefix .. ':sensors', a.ttl.index)
if #a.feeds > 0 then
	local args = { 'SADD', P .. ':feeds' }
	for _, f in ipairs(a.feeds) do
		args[#args + 1] = f.name
	end
	redis.call(unpack(args))
	expire(P .. ':feeds', a.ttl.index)
end
redis.call('HSET', P .. ':meta', 'rollup_timezone', a.timezone, 'hll_values', int(a.hll_values))
if a.signatures_version then
	redis.call('HSET', P .. ':meta', 'signatures_version', a.signatures_version)
else
	redis.call('HDEL', P .. ':meta', 'signatures_version')
end
expire(P .. ':meta', a.ttl.index)

local reply = { skipped }
for _, w in ipairs(whole_taken) do
	reply[#reply + 1] = w
end
return reply
