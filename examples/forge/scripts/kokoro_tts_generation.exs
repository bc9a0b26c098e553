# A one-shot text-to-speech script of the kind users already have (a stand-in for
# kokoro_tts_generation.exs): it knows nothing about malamute. Forge serves it unchanged through
# command mode (commandKokoro), which fills in the arguments and reads back the --out file:
#
#   elixir kokoro_tts_generation.exs --text "Hello there" --voice af_heart --speed 1.0 --out hello.wav
Code.require_file("tone_wav.exs", __DIR__)

{opts, _, invalid} = OptionParser.parse(System.argv(), strict: [text: :string, voice: :string, speed: :float, out: :string])

if invalid != [] or opts[:text] in [nil, ""] or opts[:out] == nil do
  IO.puts(:stderr, "usage: kokoro_tts_generation.exs --text TEXT --out FILE.wav [--voice VOICE] [--speed X]")
  System.halt(2)
end

voice = Keyword.get(opts, :voice, "af_heart")
IO.puts("Generating speech with voice #{voice}...")
{wav, duration} = ToneWav.synthesize(opts[:text], voice, Keyword.get(opts, :speed, 1.0))
File.write!(opts[:out], wav)
IO.puts("Saved #{Float.round(duration, 2)} s of audio to #{opts[:out]}")
