"""Every threshold, limit and default duration of posture-watch, in one place, each with why it has its value.

Thresholds and gates are chosen on the *tune* part of the sample library only (samples/library.csv); the *check*
part is what shows whether they hold for other bodies and cameras (README, "Accuracy").
"""

from __future__ import annotations

# --- Measuring a pose -----------------------------------------------------------------------------------------

MIN_FRAME_SIZE = (64, 48)  # smaller pictures cannot show a person's ears and shoulders
MAX_FRAME_SIZE = (7680, 4320)  # 8K: beyond it a frame costs hundreds of MB and no webcam delivers it
MIN_SHOULDER_WIDTH_PX = 4.0  # below this the shoulders collapse onto each other: nothing to measure
MIN_EAR_WIDTH_PX = 2.0

# --- Faults: enter thresholds at sensitivity 1 ----------------------------------------------------------------
# Each fault's threshold is the larger of a floor (what a person would call a real change) and NOISE_SPREADS
# calibration spreads (what is only measurement noise), divided by the user's sensitivity.

NECK_FLOOR_DEG = 9.0  # forward flexion of the neck beyond the calibrated posture
SHOULDER_FLOOR_DEG = 10.0  # collarbones raised beyond the calibrated posture
# The neck fault is named "head pushed forward" when the head grew in the picture (relative to the shoulders) by at
# least this share of how far the ears dropped (in shoulder widths), else "head dropping".
FORWARD_HEAD_SHARE = 1.0
HEAD_GROWTH_FLOOR = 0.10  # the head 10 % bigger relative to the shoulders: pushed forward, whatever the angle says
SIDE_LEAN_FLOOR_DEG = 8.0
TOO_CLOSE_FLOOR = 0.18  # growth of the ear-to-ear width: the head came ~15 % nearer the screen
NOISE_SPREADS = 3.0
SENSITIVITY_RANGE = (0.2, 5.0)  # 0.2: only big slouches; 5: every small one

# --- Gates: samples that cannot be trusted, or are somebody else -----------------------------------------------

MIN_VISIBILITY = 0.5  # MediaPipe's visibility of the ears and shoulders; below it the landmarks are guesses
MAX_FACE_TURN_DEG = 25.0  # a face turned further than at calibration (talking to someone): the ear line shortens
DARK_MEAN = 20.0  # grey level below which a frame is too dark (FINDINGS: ~9 gives no detection; dim rooms ~35)
BLANK_STD = 8.0  # a closed privacy shutter or covered lens is nearly uniform
MAX_OFFSET_WIDTHS = 1.0  # how far (in shoulder widths) from the calibrated spot the user may sit, sideways
MAX_RISE_WIDTHS = 0.8  # ... and up (a standing passer-by's shoulders are far higher than a sitter's)
SCALE_RANGE = (0.7, 1.6)  # shoulder width relative to the baseline's; a passer-by behind measured 0.6
# Ordinary movement, not posture: the sample is `uncertain` with the reason. Set on the tune part's movement clips
# against everything else there (shoulder widths from the shoulder line or the body's midline):
ARM_VISIBILITY = 0.8  # an elbow or wrist counts as seen from this visibility: the strictest that keeps every tune
# movement (the pose model guesses arms it cannot see, near the shoulders, with visibility 0.5-0.7)
ARM_PRESENCE = 0.8  # ... or from this presence, which follows an arm coming into view at once (see landmarks.Pose)
MAX_TORSO_TURN_DEG = 30.0  # the shoulder line turned away from the camera (talking to someone beside)
STRETCH_WIDTHS = 0.5  # an elbow or wrist this far above the shoulder line: a stretch (+1.6 in the stretch clips)
# A wrist near the shoulder line or above it, lower than a stretch: drinking, a chin on a hand (median +0.15); at
# the keyboard hands stay well below it (-0.23 at most). (A wrist's distance from the nose does not work: the pose
# model puts a hidden wrist near a dropping head.)
HAND_UP_WIDTHS = -0.1
REACH_WIDTHS = 0.85  # an elbow this far out from the midline: an arm reaching out (0.96 typical, at most 0.76 else)
STANDING_RISE_WIDTHS = 0.3  # ears and shoulders both this much higher than calibrated: rising from the chair

# --- Calibration quality ----------------------------------------------------------------------------------------

CALIBRATION_MIN_SEEN = 0.8  # share of the calibration frames that must show a measurable person
CALIBRATION_MIN_SAMPLES = 3
CALIBRATION_MIN_SECONDS = 0.5
# A camera beside the screen sees a face that looks at the screen turned by up to ~30 degrees (25 cm to the side at
# 45 cm): that is a setup, judged relative to the calibration. Beyond this the user looked elsewhere.
CALIBRATION_MAX_FACE_TURN_DEG = 40.0
CALIBRATION_MAX_NECK_GAP_SD = 0.05  # shoulder widths
CALIBRATION_MAX_SHIFT_SD = 0.15  # shoulder widths, side to side
# Steadiness (core/baseline.py, Steadiness): spreads after a moving average over CALIBRATION_SMOOTHING samples, so
# frame-to-frame noise averages out and movement does not. Set from benchmarks/calibration.py on the tune part
# (every frame of each clip's first 2 s): still calibrations stay within 2.8 degrees (a bearded man seen by a far
# monitor; the dim, noisy room 2.3) and 0.03 of the shoulder width (the dim room), while a hunch starting (4.6
# degrees) and leaning in to read (6.4) go over 4; a shrug (6.1) is refused by the neck gap's spread first. The
# check part's still calibrations stay within 2.4 degrees and 0.016. Moving nearer or further shows in the width
# first. (Rerun with each refit of the angle model, last for swapped sides; the limits held.)
CALIBRATION_SMOOTHING = 5
CALIBRATION_MAX_ANGLE_WOBBLE_DEG = 4.0
CALIBRATION_MAX_WIDTH_WOBBLE = 0.08
# Leaning sideways while calibrating hardly moves the angles (1.9 degrees) or the width: it shows in the ear line's
# tilt. Its spread over the calibration frames, from the same study: still calibrations at most 2.1 degrees on tune
# (2.4 on check), the side lean starting 4.2; other movement 0.5-2.1. The shoulder line cannot tell them apart
# (3.1 still, 3.5 leaning).
CALIBRATION_MAX_HEAD_TILT_SD_DEG = 3.0

# --- Setup drift: the calibration no longer fits where the user sits ---------------------------------------------

DRIFT_MAX_SCALE_CHANGE = 0.3  # shoulder width vs calibration: 30 % nearer or further
DRIFT_MAX_SHIFT_WIDTHS = 0.6  # sideways or up/down, in calibrated shoulder widths
DRIFT_AFTER_S = 120.0  # sitting elsewhere this long is a moved setup, not a moment

# --- States and alerts ---------------------------------------------------------------------------------------------

ALERT_AFTER_S = 60.0  # a slouch must last this long: glances and fidgets (seconds) never alert
COOLDOWN_S = 600.0
# A running watcher never notifies more often than this, whatever the settings say. Each alert replaces the notice
# before it, and the longest (title and body) is 40 words: 10-12 s of reading at 200-250 words a minute, plus a
# moment to sit up (a slouch ends 0.5 s after the user straightens). A shorter cooldown would replace a notice
# before it has been read, about a hunch that cannot have been fixed yet. (Replays, which send nothing, may go
# lower.)
MIN_COOLDOWN_S = 15.0
ENTER_AFTER_S = 0.5  # a fault must hold this long before the state says slouching
LEAVE_AFTER_S = 0.5
LEAVE_LEVEL = 0.6  # hysteresis: a slouch ends only when every score stays below 60 % of its threshold
SETTLING_CHANGE = 0.2  # a severity that moved this much since the last sample, near the thresholds, is still
# settling: sampled at the confirming pace (at 1.5 s, the head's growth took 3-4 samples to follow a forward head)
AWAY_AFTER_S = 1.0
UNCERTAIN_AFTER_S = 1.0

# --- Sampling ------------------------------------------------------------------------------------------------------

STEADY_INTERVAL_S = 1.5  # an alert needs a posture to last a minute: sampling more often is waste
CONFIRM_INTERVAL_S = 0.3  # only while a change of state is being confirmed
AWAY_INTERVAL_S = 3.0  # nobody at the desk

# --- Snooze and breaks ---------------------------------------------------------------------------------------------

SNOOZE_S = 30 * 60.0
BREAK_S = 10 * 60.0

# --- Break reminders -------------------------------------------------------------------------------------------------

BREAK_REMINDER_AFTER_S = 50 * 60.0  # continuous presence before "stand up and move"
BREAK_RESET_AWAY_S = 5 * 60.0  # away this long counts as a break
BREAK_REMINDER_REPEAT_S = 15 * 60.0  # an ignored reminder comes back after this long, not every sample
BREAK_REMINDER_LATER_S = 10 * 60.0  # the reminder's "Later" button

# --- Camera etiquette ------------------------------------------------------------------------------------------------

COVERED_REPORT_AFTER_S = 10.0  # dark or covered this long is said once, then sampled sparsely
CAMERA_RETRY_FIRST_S = 5.0  # a busy or lost camera is retried after this, doubling each time ...
CAMERA_RETRY_MAX_S = 300.0  # ... up to this: never fight another application for the device

# --- What the settings file (and the flags) accept -------------------------------------------------------------------

MAX_ALERT_AFTER_S = 24 * 3600.0  # a slouch held all day is past reminding
MAX_COOLDOWN_S = 24 * 3600.0
MAX_CAMERA_INDEX = 255  # Linux numbers video devices from 0 up; OpenCV overflows on indexes past 2**31
MAX_INTERVAL_S = 3600.0  # the sampling plan's own limit
MAX_BREAK_REMINDER_MIN = 24 * 60.0
DEFAULT_RESOLUTION = (640, 480)  # what a webcam is asked for: plenty for ears and shoulders, cheap to decode
MAX_HISTORY_DAYS = 10 * 365

# --- History and report ----------------------------------------------------------------------------------------------

HISTORY_RETENTION_DAYS = 90  # a season of history: enough to see a trend, little to keep about a person
# The report draws each minute's neck angle against NECK_FLOOR_DEG, where a neck fault starts to count at
# sensitivity 1: a guide for the eye (each user's own threshold also depends on their calibration's spread).
