# A stand-in for Kokoro's synthesis, shared by the two Elixir examples: a tone per word, pitched
# by the voice, as a 24 kHz mono 16-bit WAV. Replace it with your Bumblebee/Nx serving.
defmodule ToneWav do
  @rate 24_000

  def sample_rate, do: @rate

  # Returns {wav_bytes, duration_seconds}.
  def synthesize(text, voice, speed) do
    base = 110 + :erlang.phash2(voice, 200)
    words = String.split(text)
    word_len = round(@rate * 0.25 / speed)
    pcm =
      for {_word, w} <- Enum.with_index(words), into: <<>> do
        freq = base * (1 + rem(w, 3) * 0.25)
        for i <- 0..(word_len - 1), into: <<>> do
          fade = min(1.0, min(i, word_len - i) / 240)
          <<round(8000 * fade * :math.sin(2 * :math.pi() * freq * i / @rate))::little-signed-16>>
        end
      end
    {wav(pcm), byte_size(pcm) / 2 / @rate}
  end

  defp wav(pcm) do
    size = byte_size(pcm)
    <<"RIFF", size + 36::little-32, "WAVE", "fmt ", 16::little-32, 1::little-16, 1::little-16,
      @rate::little-32, @rate * 2::little-32, 2::little-16, 16::little-16, "data", size::little-32,
      pcm::binary>>
  end
end
