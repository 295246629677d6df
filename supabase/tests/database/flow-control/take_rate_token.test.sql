-- take_rate_token: a new destination starts with a full bucket; each call takes one token or, with none left, takes
-- nothing and answers the milliseconds until one is there; buckets refill at their rate up to their capacity;
-- destinations are independent; only the engine (service_role) may call it, and nobody else reads the buckets.
begin;
\ir ../000-setup/helpers.psql
select plan(17);

select tests.act_as_service_role();

select is(flows.take_rate_token('https://a.example/rest/1', 2, 3), 0, 'a new destination starts full: the first call takes a token');
select is(flows.take_rate_token('https://a.example/rest/1', 2, 3), 0, 'second token');
select is(flows.take_rate_token('https://a.example/rest/1', 2, 3), 0, 'third token: the bucket is empty now');
-- In a subquery: BETWEEN would call a function written inside it twice.
select ok(wait_ms between 490 and 500, 'with no token left it answers the wait until one refills (at 2/s, about 500 ms)')
  from (select flows.take_rate_token('https://a.example/rest/1', 2, 3) as wait_ms) as refused;
select results_eq($$select taken_count, refused_count, tokens < 0.1 from flows.rate_buckets where destination = 'https://a.example/rest/1'$$,
  $$values (3::bigint, 1::bigint, true)$$,
  'a refused call takes nothing; the counts record what happened');
select is(flows.take_rate_token('https://b.example', 2, 3), 0, 'another destination has a bucket of its own');

-- Time passes: move the bucket's last refill back instead of sleeping.
select tests.clear_authentication();
update flows.rate_buckets set refilled_at = refilled_at - interval '1 second' where destination = 'https://a.example/rest/1';
select tests.act_as_service_role();
select is(flows.take_rate_token('https://a.example/rest/1', 2, 3), 0, 'one second refills two tokens: one');
select is(flows.take_rate_token('https://a.example/rest/1', 2, 3), 0, 'two');
select ok(flows.take_rate_token('https://a.example/rest/1', 2, 3) > 0, 'and no more');

select tests.clear_authentication();
update flows.rate_buckets set refilled_at = refilled_at - interval '1 hour' where destination = 'https://a.example/rest/1';
select tests.act_as_service_role();
select is(flows.take_rate_token('https://a.example/rest/1', 2, 3), 0, 'an hour later the bucket is full again');
select ok((select tokens between 1.99 and 2 from flows.rate_buckets where destination = 'https://a.example/rest/1'),
  'but never fuller than its capacity (3 - the token just taken)');

select throws_ok($$select flows.take_rate_token('https://a.example', 0, 3)$$, '22023', null, 'a rate must be positive');
select throws_ok($$select flows.take_rate_token('https://a.example', 'NaN', 3)$$, '22023', null, 'NaN is not a rate');
select throws_ok($$select flows.take_rate_token('https://a.example', 2, 0.5)$$, '22023', null, 'a bucket holds at least one token');
select throws_ok($$select flows.take_rate_token('', 2, 3)$$, '22023', null, 'a destination is named');

-- Nobody but the engine.
select tests.authenticate_as(tests.create_user('someone@example.com'));
select throws_ok($$select flows.take_rate_token('https://a.example/rest/1', 2, 3)$$, '42501', null,
  'a signed-in user cannot take tokens');
select throws_ok($$select count(*) from flows.rate_buckets$$, '42501', null, 'nor read the buckets');

select * from finish();
rollback;
