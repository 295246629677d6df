-- Flow control: per-destination rate limits. One token bucket per destination (a Bitrix24 portal, an API origin),
-- kept here so that a limit holds across every concurrent flow-engine invocation. flows.take_rate_token refills the
-- bucket and takes one token, or says how long until there is one, under the bucket row's lock: callers of one
-- destination are serialised, callers of different destinations never wait for each other.

create table flows.rate_buckets (
  destination text primary key,
  tokens double precision not null,
  refilled_at timestamptz not null,
  rate_per_second double precision not null,
  capacity double precision not null,
  taken_count bigint not null default 0,
  refused_count bigint not null default 0,
  created_at timestamptz not null default now(),
  constraint rate_buckets_destination_length check (char_length(destination) between 1 and 2048),
  constraint rate_buckets_rate_per_second_positive check (rate_per_second > 0),
  constraint rate_buckets_capacity_at_least_one check (capacity >= 1),
  constraint rate_buckets_tokens_range check (tokens >= 0 and tokens <= capacity)
);
alter table flows.rate_buckets enable row level security;
revoke all on flows.rate_buckets from public, anon, authenticated, service_role;
grant select on flows.rate_buckets to service_role;
comment on table flows.rate_buckets is
  'Token buckets of rate-limited destinations (a Bitrix24 portal, an HTTP origin): tokens left at refilled_at, the rate and capacity last asked for, and how many tokens were taken and refused. Internal: no policies; written only by flows.take_rate_token. A row may be deleted at any time (a missing bucket starts full).';
comment on column flows.rate_buckets.destination is 'The bucket key the engine derives from a step''s URL; never contains credentials.';

create function flows.take_rate_token(p_destination text, p_rate_per_second double precision, p_capacity double precision)
returns integer
language plpgsql volatile security definer set search_path = ''
-- definer: the engine must write the internal flows.rate_buckets, which no API role may touch directly.
as $$
declare
  v_bucket flows.rate_buckets;
  v_now timestamptz;
  v_tokens double precision;
begin
  -- NaN compares greater than every number and Infinity is not between these bounds either, so both are refused.
  if not coalesce(char_length(p_destination) between 1 and 2048
                  and p_rate_per_second between 0.000001 and 1000000
                  and p_capacity between 1 and 1000000000, false) then
    raise exception using errcode = '22023',
      message = 'take_rate_token: destination must be 1 to 2048 characters, rate_per_second in (0, 1e6], capacity in [1, 1e9]';
  end if;

  -- A new destination starts with a full bucket. Concurrent first callers: one inserts, the others wait for it.
  insert into flows.rate_buckets (destination, tokens, refilled_at, rate_per_second, capacity)
  values (p_destination, p_capacity, pg_catalog.clock_timestamp(), p_rate_per_second, p_capacity)
  on conflict (destination) do nothing;

  select * into strict v_bucket from flows.rate_buckets where destination = p_destination for update;
  -- Read the time after the lock is ours: a caller that queued behind another must see the time it got the bucket.
  v_now := greatest(v_bucket.refilled_at, pg_catalog.clock_timestamp());
  v_tokens := least(p_capacity,
    v_bucket.tokens + extract(epoch from v_now - v_bucket.refilled_at)::double precision * p_rate_per_second);

  if v_tokens >= 1 then
    update flows.rate_buckets
       set tokens = v_tokens - 1, refilled_at = v_now, rate_per_second = p_rate_per_second, capacity = p_capacity,
           taken_count = taken_count + 1
     where destination = p_destination;
    return 0;
  end if;

  update flows.rate_buckets
     set tokens = v_tokens, refilled_at = v_now, rate_per_second = p_rate_per_second, capacity = p_capacity,
         refused_count = refused_count + 1
   where destination = p_destination;
  -- Milliseconds until one whole token; the epsilon keeps float noise from adding a millisecond (as the engine does).
  return greatest(1, ceil((1 - v_tokens) / p_rate_per_second * 1000 - 1e-6))::integer;
end
$$;
revoke execute on function flows.take_rate_token(text, double precision, double precision) from public, anon, authenticated;
grant execute on function flows.take_rate_token(text, double precision, double precision) to service_role;
comment on function flows.take_rate_token(text, double precision, double precision) is
  'Refills the destination''s token bucket (rate_per_second, up to capacity; a new bucket starts full) and takes one token: returns 0 when taken, otherwise the milliseconds until a token will be there (nothing is taken then). Serialised per destination by the bucket row''s lock. Raises 22023 on invalid arguments.';
