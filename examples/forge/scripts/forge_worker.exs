# A Forge script worker in Elixir with nothing beyond the standard library: it speaks the
# long-lived protocol of docs/forge-script-protocol.md (4-byte big-endian length + one msgpack
# map per frame on stdin/stdout) and serves `kokoro.synthesize`, plus `echo` (returns its input,
# which checks the msgpack codec). Load your model once before `ready`; then each call reuses it.
#
#   import { ScriptHost, scriptKokoro } from "malamute/forge";
#   const speech = scriptKokoro({ command: "elixir", args: ["examples/forge/scripts/forge_worker.exs"] });
#
# Logs go to stderr; stdout carries frames only.
Code.require_file("tone_wav.exs", __DIR__)

defmodule Msgpack do
  @moduledoc "The msgpack subset the protocol uses. Binaries: `{:bin, bytes}` both ways; other binaries are strings."
  import Bitwise

  def encode(nil), do: <<0xC0>>
  def encode(false), do: <<0xC2>>
  def encode(true), do: <<0xC3>>
  def encode({:bin, b}) when byte_size(b) < 0x100, do: <<0xC4, byte_size(b)::8, b::binary>>
  def encode({:bin, b}) when byte_size(b) < 0x10000, do: <<0xC5, byte_size(b)::16, b::binary>>
  def encode({:bin, b}), do: <<0xC6, byte_size(b)::32, b::binary>>
  def encode(i) when is_integer(i) and i >= 0 and i < 0x80, do: <<i>>
  def encode(i) when is_integer(i) and i < 0 and i >= -32, do: <<i::signed-8>>
  def encode(i) when is_integer(i) and i >= 0 and i < 0x100, do: <<0xCC, i::8>>
  def encode(i) when is_integer(i) and i >= 0 and i < 0x10000, do: <<0xCD, i::16>>
  def encode(i) when is_integer(i) and i >= 0 and i < 0x100000000, do: <<0xCE, i::32>>
  def encode(i) when is_integer(i) and i >= 0 and i < 1 <<< 64, do: <<0xCF, i::64>>
  def encode(i) when is_integer(i) and i >= -0x80 and i < 0, do: <<0xD0, i::signed-8>>
  def encode(i) when is_integer(i) and i >= -0x8000 and i < 0, do: <<0xD1, i::signed-16>>
  def encode(i) when is_integer(i) and i >= -0x80000000 and i < 0, do: <<0xD2, i::signed-32>>
  def encode(i) when is_integer(i) and i >= -(1 <<< 63) and i < 0, do: <<0xD3, i::signed-64>>
  def encode(f) when is_float(f), do: <<0xCB, f::float-64>>
  def encode(a) when is_atom(a), do: encode(Atom.to_string(a))
  def encode(s) when is_binary(s) and byte_size(s) < 32, do: <<0xA0 ||| byte_size(s), s::binary>>
  def encode(s) when is_binary(s) and byte_size(s) < 0x100, do: <<0xD9, byte_size(s)::8, s::binary>>
  def encode(s) when is_binary(s) and byte_size(s) < 0x10000, do: <<0xDA, byte_size(s)::16, s::binary>>
  def encode(s) when is_binary(s), do: <<0xDB, byte_size(s)::32, s::binary>>
  def encode(l) when is_list(l), do: [header(length(l), 0x90, 0xDC) | Enum.map(l, &encode/1)] |> IO.iodata_to_binary()
  def encode(m) when is_map(m) do
    [header(map_size(m), 0x80, 0xDE) | Enum.map(m, fn {k, v} -> [encode(k), encode(v)] end)] |> IO.iodata_to_binary()
  end

  defp header(n, fix, _) when n < 16, do: <<fix ||| n>>
  defp header(n, _, b16) when n < 0x10000, do: <<b16, n::16>>
  defp header(n, _, b16), do: <<b16 + 1, n::32>>

  # Returns the value; raises on malformed or unsupported input (the host then restarts us).
  def decode(bytes) do
    {value, <<>>} = take(bytes)
    value
  end

  defp take(<<0xC0, r::binary>>), do: {nil, r}
  defp take(<<0xC2, r::binary>>), do: {false, r}
  defp take(<<0xC3, r::binary>>), do: {true, r}
  defp take(<<i, r::binary>>) when i < 0x80, do: {i, r}
  defp take(<<i::signed-8, r::binary>>) when i >= -32, do: {i, r}
  defp take(<<t, r::binary>>) when t in 0x80..0x8F, do: pairs(t - 0x80, r, %{})
  defp take(<<t, r::binary>>) when t in 0x90..0x9F, do: items(t - 0x90, r, [])
  defp take(<<t, r::binary>>) when t in 0xA0..0xBF, do: bytes(t - 0xA0, r, & &1)
  defp take(<<0xC4, n::8, r::binary>>), do: bytes(n, r, &{:bin, &1})
  defp take(<<0xC5, n::16, r::binary>>), do: bytes(n, r, &{:bin, &1})
  defp take(<<0xC6, n::32, r::binary>>), do: bytes(n, r, &{:bin, &1})
  defp take(<<0xCA, f::float-32, r::binary>>), do: {f, r}
  defp take(<<0xCB, f::float-64, r::binary>>), do: {f, r}
  defp take(<<0xCC, i::8, r::binary>>), do: {i, r}
  defp take(<<0xCD, i::16, r::binary>>), do: {i, r}
  defp take(<<0xCE, i::32, r::binary>>), do: {i, r}
  defp take(<<0xCF, i::64, r::binary>>), do: {i, r}
  defp take(<<0xD0, i::signed-8, r::binary>>), do: {i, r}
  defp take(<<0xD1, i::signed-16, r::binary>>), do: {i, r}
  defp take(<<0xD2, i::signed-32, r::binary>>), do: {i, r}
  defp take(<<0xD3, i::signed-64, r::binary>>), do: {i, r}
  defp take(<<0xD9, n::8, r::binary>>), do: bytes(n, r, & &1)
  defp take(<<0xDA, n::16, r::binary>>), do: bytes(n, r, & &1)
  defp take(<<0xDB, n::32, r::binary>>), do: bytes(n, r, & &1)
  defp take(<<0xDC, n::16, r::binary>>), do: items(n, r, [])
  defp take(<<0xDD, n::32, r::binary>>), do: items(n, r, [])
  defp take(<<0xDE, n::16, r::binary>>), do: pairs(n, r, %{})
  defp take(<<0xDF, n::32, r::binary>>), do: pairs(n, r, %{})
  defp take(<<t, _::binary>>), do: raise("unsupported msgpack type 0x#{Integer.to_string(t, 16)}")

  defp bytes(n, r, wrap) do
    <<b::binary-size(n), rest::binary>> = r
    {wrap.(b), rest}
  end

  defp items(0, r, acc), do: {Enum.reverse(acc), r}
  defp items(n, r, acc) do
    {v, r} = take(r)
    items(n - 1, r, [v | acc])
  end

  defp pairs(0, r, acc), do: {acc, r}
  defp pairs(n, r, acc) do
    {k, r} = take(r)
    {v, r} = take(r)
    pairs(n - 1, r, Map.put(acc, k, v))
  end
end

defmodule Worker do
  def send_msg(map) do
    body = Msgpack.encode(map)
    IO.binwrite(:stdio, <<byte_size(body)::32, body::binary>>)
  end

  def loop do
    case IO.binread(:stdio, 4) do
      <<size::32>> ->
        case IO.binread(:stdio, size) do
          body when is_binary(body) and byte_size(body) == size ->
            handle(Msgpack.decode(body))
            loop()
          _ -> :eof
        end
      _ -> :eof
    end
  end

  defp handle(%{"type" => "call", "id" => id, "method" => method, "input" => input}) do
    try do
      send_msg(%{"type" => "result", "id" => id, "value" => run(method, id, input)})
    rescue
      e in ArgumentError -> fail(id, "RPC_VALIDATION", Exception.message(e))
      e -> fail(id, "RPC_INTERNAL", Exception.message(e))
    catch
      {:error, code, message} -> fail(id, code, message)
    end
  end
  # Calls run one at a time here, so a cancel arrives after the call ended: nothing to stop.
  defp handle(%{"type" => "shutdown"}), do: System.halt(0)
  defp handle(_other), do: :ok

  defp fail(id, code, message), do: send_msg(%{"type" => "error", "id" => id, "code" => code, "message" => message})

  defp run("echo", _id, input), do: input
  defp run("kokoro.synthesize", id, input) do
    text = input["text"] || raise ArgumentError, "text is required"
    format = input["format"] || "wav"
    if format != "wav", do: throw({:error, "FORGE_UNSUPPORTED", "this worker produces wav only, not #{format}"})
    send_msg(%{"type" => "progress", "id" => id, "value" => %{"done" => 0, "total" => 1, "stage" => "synthesize"}})
    {wav, duration} = ToneWav.synthesize(text, input["voice"] || "af_heart", (input["speed"] || 1) * 1.0)
    send_msg(%{"type" => "progress", "id" => id, "value" => %{"done" => 1, "total" => 1, "stage" => "synthesize"}})
    %{"audio" => {:bin, wav}, "format" => "wav", "sampleRate" => ToneWav.sample_rate(), "duration" => duration, "model" => "elixir-tone (stand-in for kokoro)"}
  end
  defp run(method, _id, _input), do: throw({:error, "FORGE_UNSUPPORTED", "unknown method #{method}"})
end

# Raw bytes on stdin/stdout, no Unicode translation.
:ok = :io.setopts(:standard_io, binary: true, encoding: :latin1)
IO.puts(:stderr, "forge_worker.exs: ready (Elixir #{System.version()})")
Worker.send_msg(%{"type" => "ready", "protocol" => 1, "name" => "kokoro-elixir", "concurrency" => 1, "methods" => ["kokoro.synthesize", "echo"]})
Worker.loop()
