import { randomUUID } from 'node:crypto';
import { codeForSplit, creditsFor, decideCheck, fromMicro, planRemaining, toMicro, type CheckCode } from '@tally/core';
import type { CheckRequest, CheckResponse, UsageEventMessage } from '@tally/contracts';
import type { EventProducer } from '@tally/kafka';
import { budgetLeftMs, counter, DependencyUnavailableError, type Logger } from '@tally/runtime';
import { meteringErrors } from './errors.ts';
import { creditsFit, creditsOverflowError } from './ingest-validate.ts';
import type { MeteringDirectory } from './directory.ts';
import type { Rebuilder } from './rebuild.ts';
import { blockedByPastDue, customerPlan, meterArgs, meterForFeature, pricedTerms } from './meter-context.ts';
import { balanceFields, emptyFields } from './answer.ts';
import { dedupGenerations, idDigest, ledgerScripts, meterKeys, messageFingerprint, runCheckScript, type LedgerStore } from './ledger/index.ts';
import { keys } from '@tally/redis';
import type { BalanceEvents } from './balance-events.ts';
import { toMessage } from './messages.ts';
import type { StrictOutbox } from './strict-outbox.ts';

const checks = counter('tally_checks_total', 'check answers', ['code', 'send_event']);

/**
 * A strict-path publish that has not been acknowledged by then is given up:
 * the debit is undone and the answer is 503, so a hung broker never leaves a
 * debit in Redis whose event is nowhere else. If the broker acknowledges it
 * later anyway, the pipeline finds the id unapplied and debits it once (the
 * client's retry with the same id is then a duplicate): applied once either way.
 */
const STRICT_PUBLISH_DEADLINE_MS = 5_000;

function withDeadline<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new DependencyUnavailableError('kafka', new Error(`no acknowledgement within ${ms} ms`))), ms);
  });
  return Promise.race([work, late]).finally(() => clearTimeout(timer));
}

export interface CheckDeps {
  ledger: LedgerStore;
  /** The strict path's outbox (strict-outbox.ts). */
  outbox: StrictOutbox;
  rebuilder: Rebuilder;
  directory: MeteringDirectory;
  producer: EventProducer;
  topic: string;
  logger: Logger;
  /** The process's balance-changed signal: a debit with sendEvent is reported here. */
  events: BalanceEvents;
}

const denied = (code: CheckCode, message: string): CheckResponse => ({ allowed: false, code, ...emptyFields, details: { message } });

/**
 * POST /v1/check. Once the customer's state is in Redis the answer costs one
 * Lua call (plus, with sendEvent, the Kafka publish of the debited event).
 */
export class CheckService {
  private readonly outbox: StrictOutbox;

  constructor(private readonly deps: CheckDeps) {
    this.outbox = deps.outbox;
  }

  async check(tenantId: string, req: CheckRequest): Promise<CheckResponse> {
    const answer = await this.decide(tenantId, req);
    checks.labels(answer.code, String(req.sendEvent)).inc();
    return answer;
  }

  private async decide(t: string, req: CheckRequest): Promise<CheckResponse> {
    const { directory, ledger, rebuilder } = this.deps;
    let cp = await customerPlan(directory, t, req.customer);
    if (!cp.customerExists) {
      // the rule of every call that acts for a customer (track, check, attach, addon): an unknown one is
      // created on first use — but not by a request refused anyway (an unknown feature changes nothing)
      const probe = meterForFeature(cp, req.feature);
      if (!probe.ok && probe.code === 'feature_not_found') return denied('feature_not_found', `feature ${req.feature} does not exist`);
      if (!directory.ensure) return denied('customer_not_found', `customer ${req.customer} does not exist`);
      await directory.ensure(t, req.customer, req.customerData ?? null);
      cp = await customerPlan(directory, t, req.customer);
      if (!cp.customerExists) return denied('customer_not_found', `customer ${req.customer} does not exist`);
    }
    if (blockedByPastDue(cp, req.feature)) {
      return denied('subscription_past_due', `the customer's plan ${cp.pastDuePlan?.slug} is past due: its renewal failed; a new card retries it`);
    }
    const resolved = meterForFeature(cp, req.feature);
    if (!resolved.ok) {
      if (resolved.code === 'feature_not_found') return denied('feature_not_found', `feature ${req.feature} does not exist`);
      // boolean feature: on or off in the plan
      if (!cp.subscription) return denied('no_active_subscription', 'the customer has no active plan');
      const on = cp.plan?.entitlements.get(req.feature)?.enabled === true;
      return on
        ? { allowed: true, code: 'access_granted', ...emptyFields, details: { message: 'feature enabled in plan' } }
        : denied('feature_not_in_plan', `feature ${req.feature} is not in the customer's plan`);
    }
    const def = resolved.def;
    if (def.kind === 'feature' && !cp.subscription) return denied('no_active_subscription', 'the customer has no active plan');
    if (def.kind === 'feature' && !def.inPlan) return denied('feature_not_in_plan', `feature ${req.feature} is not in the customer's plan`);

    const now = new Date();
    const args = meterArgs(cp, def, now);
    const valueMicro = toMicro(req.value);
    if (!creditsFit(valueMicro, def.costMicro)) throw meteringErrors.credits_overflow(creditsOverflowError(req.feature, valueMicro, def.costMicro).message);
    const neededMicro = creditsFor(valueMicro, def.costMicro);
    const event = req.sendEvent ? this.strictEvent(t, req, valueMicro, now.getTime()) : null;
    if (event) {
      // priced as accepted, like track: a replay after a lost Redis debits with these terms
      event.catalogVersion = cp.snapshot.version.toString();
      event.customerVersion = cp.customerVersion.toString();
      event.priced = pricedTerms(cp, def, now.getTime());
    }
    const digest = event ? idDigest(event.id) : null;
    // Outbox first: if this process dies between the debit and the publish, the sweeper publishes it.
    const ownsPending = event ? await this.outbox.write({ ...event, meter: def.meter }, digest!, now.getTime()) : false;
    const s = await runCheckScript(ledger, rebuilder, t, req.customer, args, {
      neededMicro,
      send: event ? { digest: digest!, fingerprint: messageFingerprint(event), neededMicro } : null,
    });
    const debitedNow = event !== null && s.status === 0 && s.allowed;
    if (ownsPending && !debitedNow) this.outbox.forget(t, req.customer, digest!);
    // a first debit under a leftover message of this id (an earlier attempt that did not debit): replace it
    if (debitedNow && !ownsPending) await this.outbox.replace({ ...event, meter: def.meter }, digest!, now.getTime());
    if (s.status === 4) throw meteringErrors.event_conflict(`event ${event?.id} was already used with a different payload`);

    let allowed: boolean;
    let code: CheckCode;
    if (event && s.allowed) {
      allowed = true;
      code = codeForSplit(s.split);
    } else {
      const d = decideCheck({ kind: def.kind, neededMicro, planRemainingMicro: planRemaining(s), purchasedMicro: s.purchasedMicro, overage: def.overage });
      allowed = event ? s.allowed : d.allowed;
      code = allowed ? d.code : !cp.subscription ? 'no_active_subscription' : d.code;
    }

    if (event && debitedNow) {
      // The debit happened in Redis; now make it durable. The message carries the
      // split so the pipeline records it without debiting again.
      const message = toMessage({ ...event, debited: { meter: def.meter, planMicro: s.split.planMicro.toString(), purchasedMicro: s.split.purchasedMicro.toString(), overageMicro: s.split.overageMicro.toString(), appliedAt: now.getTime() } });
      try {
        await withDeadline(this.deps.producer.send(this.deps.topic, [message]), Math.min(STRICT_PUBLISH_DEADLINE_MS, budgetLeftMs(STRICT_PUBLISH_DEADLINE_MS)));
      } catch (err) {
        // Not durable, so not done: give the credits back and answer 503 — unless the
        // outbox sweeper has taken the event over (this request stalled past its grace).
        if (await this.outbox.takeBack(t, req.customer, digest!).catch(() => false)) await this.undo(t, req.customer, def.meter, digest!, now.getTime());
        throw err;
      }
      this.outbox.forget(t, req.customer, digest!);
      const left = planRemaining(s);
      this.deps.events.changed({ tenantId: t, customerId: req.customer, creditSystem: def.meter, balanceMicro: (left ?? 0n) + s.purchasedMicro });
    }

    return {
      allowed,
      code,
      ...balanceFields(def, s),
      details: {
        message: allowed ? 'allowed' : 'not enough balance',
        requested: fromMicro(neededMicro),
        ...(event ? { eventId: event.id, debited: s.allowed, duplicate: s.status === 3, split: splitJson(s.split) } : {}),
      },
    };
  }

  private async undo(t: string, c: string, meter: string, digest: Buffer, nowMs: number): Promise<void> {
    const gen = dedupGenerations(nowMs);
    const [meterKey, grantsKey, orderKey] = meterKeys(t, c, meter);
    try {
      await this.deps.ledger.run(ledgerScripts.undoDebit, [meterKey!, grantsKey!, orderKey!, keys.seenEvents(t, c, gen.current), keys.appliedLog(t, c)], [digest]);
    } catch (err) {
      this.deps.logger.error({ err, tenantId: t, customer: c }, 'could not undo a strict-path debit whose event was not published');
    }
  }

  private strictEvent(tenantId: string, req: CheckRequest, valueMicro: bigint, nowMs: number): UsageEventMessage {
    return {
      tenantId,
      id: req.id ?? randomUUID(),
      customer: req.customer,
      feature: req.feature,
      valueMicro: valueMicro.toString(),
      timestamp: nowMs,
      acceptedAt: nowMs,
      entity: req.entity ?? null,
      properties: req.properties,
      source: 'check',
    };
  }
}


const splitJson = (s: { planMicro: bigint; purchasedMicro: bigint; overageMicro: bigint }) => ({
  plan: fromMicro(s.planMicro),
  purchased: fromMicro(s.purchasedMicro),
  overage: fromMicro(s.overageMicro),
});
