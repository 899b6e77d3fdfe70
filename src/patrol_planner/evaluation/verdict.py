"""Plain-language verdicts and caveats for an estimate: what a tasking officer or a board should read."""

from __future__ import annotations

import math

#: Fewer events than this in the spots over the programme makes any estimate weak.
FEW_EVENTS = 50
#: An interval whose upper end is more than this multiple of its lower end is too wide to act on.
WIDE_RATIO = 2.0


def pct(rr: float) -> str:
    """Rate ratio -> "12% fewer" / "8% more"."""
    if rr == math.inf:
        return "any number more"
    if not math.isfinite(rr):
        return "not estimable"
    d = (1.0 - rr) * 100
    return f"{abs(d):.0f}% {'fewer' if d >= 0 else 'more'}"


def verdict(rate_ratio: float, ci_low: float, ci_high: float, p_value: float, *, events: float,
            what: str = "crimes", where: str = "at the spots on patrol days",
            versus: str = "than on control days") -> tuple[str, bool]:
    """One paragraph in plain words, and whether the estimate is weak."""
    if not math.isfinite(rate_ratio) or math.isnan(ci_low) or math.isnan(ci_high):
        return (f"No estimate could be made for {what}: too few events on one side of the comparison.", True)
    # an interval from an inverted test can be open (0 or infinity): the data rule out nothing on that side
    wide = ci_low <= 0 or not math.isfinite(ci_high) or ci_high / ci_low > WIDE_RATIO
    weak = events < FEW_EVENTS or wide
    rng = f"(rate ratio {rate_ratio:.2f}, 95% interval {ci_low:.2f} to {ci_high:.2f}, p = {p_value:.3f})"
    if ci_high < 1 and p_value < 0.05:
        text = f"There were {pct(rate_ratio)} {what} {where} {versus} {rng}."
    elif ci_low > 1 and p_value < 0.05:
        text = f"There were {pct(rate_ratio)} {what} {where} {versus} {rng}: an increase, not a fall."
    else:
        text = (f"No clear effect on {what} {where} was found {rng}. This is not proof that patrols had no effect: "
                f"the data are consistent with anything from {pct(ci_low)} to {pct(ci_high)} {what}.")
    if weak:
        why = [f"only {events:.0f} events"] if events < FEW_EVENTS else []
        if wide:
            why.append("a wide interval")
        text += f" The estimate is weak ({' and '.join(why)}), so it should not be relied on alone."
    return text, weak


GENERAL_CAVEATS: tuple[str, ...] = (
    "Small numbers: a few crimes either way move the estimate a lot; read the interval, not the point estimate.",
    "No effect found is not proof of no effect: an interval that includes 1 also includes effects that matter.",
    "Recorded crime depends on reporting and on police presence: patrols can raise recorded crime (more seen, "
    "more reported) while reducing what happens.",
    "Intention to treat compares days as assigned; it is the randomised, unbiased comparison, and it measures the "
    "effect of the programme as run, including missed patrols.",
)
AS_DELIVERED_CAVEAT = (
    "As delivered compares days by GPS presence. Presence was not randomised: officers go where and when they "
    "choose, for reasons that may relate to crime, so this comparison can be biased either way."
)
CARRY_OVER_CAVEAT = (
    "Carry-over: control days right after a treated day are compared with other control days; a difference would "
    "mean the effect lasts into the next day (and makes the main comparison an underestimate)."
)
DISPLACEMENT_CAVEAT = (
    "Displacement: the ring around each spot is compared the same way; more crime in rings on patrol days would "
    "suggest crime moved round the corner, less would suggest a diffusion of benefits."
)
