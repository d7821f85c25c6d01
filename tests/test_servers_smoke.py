"""The test servers themselves start and answer."""

from servers import RECORDINGS, snmpsim, victoria_metrics


def test_snmpsim_serves_recording(tmp_path):
    recording = "1.3.6.1.2.1.1.1.0|4|test UPS\n1.3.6.1.2.1.33.1.2.4.0|2|87\n"
    with snmpsim({"public": recording}) as agent:
        assert agent.port > 0


def test_influxdb_answers_query(influxdb):
    assert influxdb.query("SHOW MEASUREMENTS") == []


def test_victoria_metrics_starts():
    with victoria_metrics() as server:
        assert server.url.startswith("http://127.0.0.1:")


def test_recordings_folder_exists():
    assert RECORDINGS.name == "recordings"
