"""The pure core of posture-watch: landmarks in, judgements and events out.

Nothing here touches a camera, the pose model, D-Bus, the clock or a file: every function is driven by the
values and timestamps its caller passes in. It imports only the standard library and numpy, so it can be tested
(and reasoned about) without any of the adapters around it. Every threshold lives in `thresholds.py`.
"""
