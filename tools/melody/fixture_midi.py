"""A few small MIDI files for the musician-model fixture (tests/fixtures/melody-user-1x64.safetensors,
trained by tools/melody/train_torch.py): four simple tunes in four keys, one with a chord under
the tune (the top note is the melody), each played three times.

Run: tools/melody/.venv/bin/python tools/melody/fixture_midi.py tests/fixtures/melody-midi
"""
import mido, os, sys
out = sys.argv[1]
os.makedirs(out, exist_ok=True)
tunes = {
    "ode-to-joy-D": [(66,2),(66,2),(67,2),(69,2),(69,2),(67,2),(66,2),(64,2),(62,2),(62,2),(64,2),(66,2),(66,3),(64,1),(64,4),
                     (66,2),(66,2),(67,2),(69,2),(69,2),(67,2),(66,2),(64,2),(62,2),(62,2),(64,2),(66,2),(64,3),(62,1),(62,4)],
    "twinkle-C": [(60,2),(60,2),(67,2),(67,2),(69,2),(69,2),(67,4),(65,2),(65,2),(64,2),(64,2),(62,2),(62,2),(60,4),
                  (67,2),(67,2),(65,2),(65,2),(64,2),(64,2),(62,4),(67,2),(67,2),(65,2),(65,2),(64,2),(64,2),(62,4)],
    "frere-jacques-G": [(67,2),(69,2),(71,2),(67,2),(67,2),(69,2),(71,2),(67,2),(71,2),(72,2),(74,4),(71,2),(72,2),(74,4),
                        (74,1),(76,1),(74,1),(72,1),(71,2),(67,2),(74,1),(76,1),(74,1),(72,1),(71,2),(67,2),(67,2),(62,2),(67,4)],
    "scale-a-minor": [(69,1),(71,1),(72,1),(74,1),(76,1),(77,1),(80,1),(81,1),(81,2),(None,2),(81,1),(80,1),(77,1),(76,1),(74,1),(72,1),(71,1),(69,1),(69,4)],
}
for name, tune in tunes.items():
    mid = mido.MidiFile(ticks_per_beat=480)
    track = mido.MidiTrack(); mid.tracks.append(track)
    step = 120  # a 16th at 480 ticks per beat
    wait = 0
    for repeat in range(3):
        for pitch, sixteenths in tune:
            if pitch is None:
                wait += step * sixteenths
                continue
            track.append(mido.Message("note_on", note=pitch, velocity=80, time=wait))
            if name.startswith("twinkle"):
                # A chord under the tune: the top note is the melody.
                track.append(mido.Message("note_on", note=pitch - 12, velocity=60, time=0))
                track.append(mido.Message("note_off", note=pitch - 12, velocity=0, time=step * sixteenths))
                track.append(mido.Message("note_off", note=pitch, velocity=0, time=0))
            else:
                track.append(mido.Message("note_off", note=pitch, velocity=0, time=step * sixteenths))
            wait = 0
        wait = step * 4
    mid.save(os.path.join(out, f"{name}.mid"))
print("wrote", sorted(os.listdir(out)))
