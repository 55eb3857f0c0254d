"""What to tell the user: a fix or stretch that fits the fault seen, in plain words.

Hunching over a desk is a leading everyday cause of upper-back and neck spasms; what helps is better posture,
stretching and strengthening the upper back, short breaks, and heat or massage for tight muscles. The first
alert of a slouch names the fault and its fix; a later one in the same slouch suggests a break with a stretch, and
so does the reminder after a long stretch of sitting. Texts rotate so the same one never comes twice in a row.
"""

from __future__ import annotations

from .policy import Alert

TITLES = {
    "head_drop": "Head dropping toward the desk",
    "forward_head": "Head pushed forward",
    "shoulders_raised": "Shoulders creeping up",
    "side_lean": "Leaning to one side",
    "too_close": "Too close to the screen",
}

FIXES = {
    "head_drop": (
        "Lift your chest and bring your ears back over your shoulders. Chin tucks: draw your chin straight back "
        "(a 'double chin'), hold 5 s, 10 times.",
        "Raise the screen so its top is at eye level, then sit tall: crown of the head toward the ceiling, "
        "shoulders relaxed.",
        "Slide your hips to the back of the chair and let the backrest hold you up; look at the screen with your "
        "eyes, not your whole head.",
    ),
    "forward_head": (
        "Bring your head back over your shoulders. Chin tucks: glide your chin straight back, hold 5 s, "
        "repeat 10 times.",
        "Sit back against the chair and make the text bigger instead of leaning in (Ctrl +).",
        "Imagine a string pulling the back of your head up and back; keep your chin level.",
    ),
    "shoulders_raised": (
        "Drop your shoulders away from your ears and breathe out slowly. Roll them back and down 5 times.",
        "Shrug high for 3 s, then let go completely; repeat 5 times. Rest your forearms on the desk or "
        "armrests so your shoulders don't have to hold them.",
        "Check the desk height: elbows at about 90°, keyboard at elbow level, so your shoulders can hang.",
    ),
    "side_lean": (
        "Re-centre over your hips: both feet flat on the floor, weight even on both sit bones.",
        "Bring the mouse and keyboard closer so you don't reach to one side; sit square to the screen.",
        "Side stretch: raise one arm overhead and lean gently the other way, 20 s each side, then sit centred.",
    ),
    "too_close": (
        "Sit back: the screen should be about an arm's length away. Enlarge the text instead of leaning in.",
        "Lean back against the chair and let your eyes do the reading; blink and look away for 20 s.",
    ),
}

BREAKS = (
    "Stand up and walk for two minutes. Then a doorway stretch: forearms on the frame, step through until "
    "the chest opens, 30 s.",
    "Time to move: stand, roll your shoulders back 10 times, squeeze your shoulder blades together for 5 s, "
    "5 times.",
    "Thoracic extension: hands behind your head, lean back over the top of the chair back, 5 slow breaths. "
    "Then stand and walk a little.",
    "Take a short break away from the desk. A warm shower or a heat pack, or a gentle massage, eases a tight "
    "upper back after a long stretch of sitting.",
)


class AdviceBook:
    """Picks the title and body of an alert. Deterministic: the nth text for a fault is always the same."""

    def __init__(self) -> None:
        self._used: dict[str, int] = {}

    def advise(self, alert: Alert) -> tuple[str, str]:
        fault = alert.faults[0] if alert.faults else "head_drop"
        if alert.nth == 1:
            return TITLES[fault], self._next(fault, FIXES[fault])
        title = f"{TITLES[fault]} for {spoken_duration(alert.slouch_seconds)}: time for a break"
        return title, self._next("break", BREAKS)

    def reminder(self, sitting_s: float) -> tuple[str, str]:
        """The break reminder after `sitting_s` seconds at the desk."""
        return f"{spoken_duration(sitting_s)} at the desk: stand up and move", self._next("break", BREAKS)

    def _next(self, key: str, texts: tuple[str, ...]) -> str:
        n = self._used.get(key, 0)
        self._used[key] = n + 1
        return texts[n % len(texts)]


def spoken_duration(seconds: float) -> str:
    """'45 s', '12 min', '1.5 h': how long, as a person would say it."""
    minutes = seconds / 60
    if minutes >= 90:
        return f"{minutes / 60:.1f} h".replace(".0 h", " h")
    return f"{minutes:.0f} min" if minutes >= 1.5 else f"{seconds:.0f} s"
